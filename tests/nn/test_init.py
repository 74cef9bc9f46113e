"""tg.nn.init: gains, bounds and standard deviations of each initialiser (PyTorch's formulas)."""

import math

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.nn import init

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name, param", [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                         ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def _stats(fn, shape=(400, 250), **kw):
    tg.manual_seed(0)
    t = tg.empty(*shape)
    assert fn(t, **kw) is t
    return t.numpy()


def test_uniform_family_bounds_and_std():
    fan_in, fan_out = 250, 400
    cases = [
        (init.uniform_, dict(a=-0.5, b=1.5), 1.5, 2 / math.sqrt(12), 0.5),
        (init.xavier_uniform_, dict(gain=2.0), 2 * math.sqrt(6 / (fan_in + fan_out)), None, 0.0),
        (init.kaiming_uniform_, dict(nonlinearity="relu"), math.sqrt(2) * math.sqrt(3 / fan_in), None, 0.0),
        (init.kaiming_uniform_, dict(a=math.sqrt(5)), 1 / math.sqrt(fan_in), None, 0.0),
        (init.kaiming_uniform_, dict(mode="fan_out", nonlinearity="relu"), math.sqrt(6 / fan_out), None, 0.0),
    ]
    for fn, kw, bound, std, mean in cases:
        w = _stats(fn, **kw)
        std = std or bound / math.sqrt(3)
        assert w.max() <= bound and w.max() > 0.99 * bound, (fn.__name__, kw)
        assert abs(w.std() - std) < 0.02 * std and abs(w.mean() - mean) < 0.02 * bound


def test_normal_family_std():
    for fn, kw, std in [
        (init.normal_, dict(mean=1.0, std=0.5), 0.5),
        (init.xavier_normal_, {}, math.sqrt(2 / 650)),
        (init.kaiming_normal_, dict(nonlinearity="relu"), math.sqrt(2 / 250)),
        (init.kaiming_normal_, dict(mode="fan_out", nonlinearity="tanh"), 5 / 3 / math.sqrt(400)),
    ]:
        w = _stats(fn, **kw)
        assert abs(w.std() - std) < 0.02 * std, (fn.__name__, kw)
    w = _stats(init.trunc_normal_, std=1.0, a=-1.0, b=1.5)
    assert w.min() >= -1.0 and w.max() <= 1.5 and w.std() > 0.5


def test_constant_family_and_orthogonal():
    assert np.all(_stats(init.zeros_) == 0) and np.all(_stats(init.ones_) == 1)
    assert np.all(_stats(init.constant_, val=0.3) == np.float32(0.3))
    np.testing.assert_array_equal(_stats(init.eye_, shape=(3, 4)), np.eye(3, 4))
    q = _stats(init.orthogonal_, shape=(6, 4)).astype(np.float64)
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-5)


def test_init_does_not_record_and_works_on_parameters():
    p = tg.nn.Parameter(tg.empty(3, 4))
    init.kaiming_uniform_(p)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None


def test_init_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(tg.empty(5))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="fan_in"):
        init.kaiming_normal_(tg.empty(2, 2), mode="fan")
