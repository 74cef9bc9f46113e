"""Clipping: TF's clip_by_value / clip_by_norm / clip_by_global_norm and PyTorch's clip_grad_*_."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.tf import clip as clip_module


@pytest.fixture(autouse=True)
def _fresh_warning_state():
    clip_module._WARNED.clear()
    yield
    clip_module._WARNED.clear()


def test_clip_by_value_and_its_gradient():
    x = tg.constant([-1.0, 0.05, 2.0])
    with tg.GradientTape() as tape:
        tape.watch(x)
        y = tg.clip_by_value(x, -0.1, 0.1)
    np.testing.assert_allclose(y.numpy(), [-0.1, 0.05, 0.1])
    assert tape.gradient(y, x).tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="greater than"):
        tg.clip_by_value(x, 1.0, -1.0)


def test_clip_by_norm():
    t = tg.constant([3.0, 4.0])
    np.testing.assert_allclose(tg.clip_by_norm(t, 1.0).numpy(), [0.6, 0.8], rtol=1e-6)
    assert tg.clip_by_norm(t, 10.0).tolist() == [3.0, 4.0]
    rows = tg.clip_by_norm(tg.constant([[3.0, 4.0], [0.3, 0.4]]), 1.0, axes=[1])
    np.testing.assert_allclose(rows.numpy(), [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)


def test_clip_by_norm_zero_norm_has_finite_gradient():
    z = tg.constant([0.0, 0.0])
    with tg.GradientTape() as tape:
        tape.watch(z)
        y = tg.clip_by_norm(z, 1.0)
    assert y.tolist() == [0.0, 0.0]
    assert np.isfinite(tape.gradient(y, z).numpy()).all()


def test_clip_by_global_norm_with_none():
    a, b = tg.constant([3.0]), tg.constant([4.0])
    clipped, norm = tg.clip_by_global_norm([a, None, b], 1.0)
    assert norm.item() == 5.0 and clipped[1] is None
    np.testing.assert_allclose([clipped[0].item(), clipped[2].item()], [0.6, 0.8], rtol=1e-6)
    same, _ = tg.clip_by_global_norm([a, b], 10.0)
    assert [t.item() for t in same] == [3.0, 4.0]
    _, used = tg.clip_by_global_norm([a, b], 1.0, use_norm=tg.constant(2.0))
    assert used.item() == 2.0


def test_clip_by_global_norm_zero_and_all_none():
    clipped, norm = tg.clip_by_global_norm([tg.zeros([2])], 1.0)
    assert norm.item() == 0.0 and clipped[0].tolist() == [0.0, 0.0]
    clipped, norm = tg.clip_by_global_norm([None, None], 1.0)
    assert clipped == [None, None] and norm.item() == 0.0


def test_clip_by_global_norm_nonfinite_warns_once():
    bad = [tg.constant([np.inf, 1.0]), tg.constant([2.0])]
    with pytest.warns(RuntimeWarning, match="not finite|inf"):
        clipped, norm = tg.clip_by_global_norm(bad, 1.0)
    assert np.isinf(norm.item()) and np.isnan(clipped[1].item())  # TF's values, but not silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.clip_by_global_norm(bad, 1.0)  # the second time: no warning


def _params_with_grads(*grads):
    params = []
    for g in grads:
        p = tg.nn.Parameter(tg.zeros(len(g)))
        p.grad = tg.tensor(g)
        params.append(p)
    return params


def test_clip_grad_norm_():
    p, q = _params_with_grads([3.0], [4.0])
    none = tg.nn.Parameter(tg.zeros(1))
    total = tg.nn.utils.clip_grad_norm_([p, q, none], 1.0)
    assert total.item() == pytest.approx(5.0)
    assert p.grad.item() == pytest.approx(0.6, rel=1e-5) and q.grad.item() == pytest.approx(0.8, rel=1e-5)
    assert none.grad is None
    (r,) = _params_with_grads([3.0, -4.0])
    assert tg.nn.utils.clip_grad_norm_(r, 1.0, norm_type="inf").item() == 4.0
    assert tg.nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    grads = [[0.5, -2.0, 3.0], [1.5, 0.25]]
    for norm_type in (2.0, 1.0, float("inf")):
        ours = _params_with_grads(*grads)
        theirs = [torch.nn.Parameter(torch.zeros(len(g))) for g in grads]
        for t, g in zip(theirs, grads):
            t.grad = torch.tensor(g)
        a = tg.nn.utils.clip_grad_norm_(ours, 1.0, norm_type=norm_type)
        b = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type)
        assert a.item() == pytest.approx(b.item(), rel=1e-6)
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-5)


def test_clip_grad_norm_nonfinite():
    (p,) = _params_with_grads([np.inf, 1.0])
    with pytest.raises(tg.GradError, match="error_if_nonfinite=False"):
        tg.nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert p.grad.numpy()[1] == 1.0  # a refused clip leaves the gradients as they were
    with pytest.warns(RuntimeWarning):
        tg.nn.utils.clip_grad_norm_(p, 1.0)


def test_clip_grad_value_():
    (p,) = _params_with_grads([-3.0, 0.5, 7.0])
    assert tg.nn.utils.clip_grad_value_([p], 1.0) is None
    assert p.grad.tolist() == [-1.0, 0.5, 1.0]
