"""gradcheck / gradgradcheck: pass on correct functions, report a planted wrong gradient like PyTorch."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.errors import GradError


def _inputs():
    tg.manual_seed(0)
    return tg.randn(3, dtype=tg.float64, requires_grad=True), tg.randn(3, 2, dtype=tg.float64, requires_grad=True)


class WrongExp(tg.autograd.Function):
    """exp with a backward that is 10% too large."""

    @staticmethod
    def forward(ctx, x):
        out = x.exp()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out * 1.1


class WrongSecond(tg.autograd.Function):
    """x**3 with a right first derivative whose own derivative is lost (detach inside backward)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x.detach() ** 2


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, w: (a @ w).tanh(),
        lambda a, w: (a.unsqueeze(1) * w).sum(0).exp(),
        lambda a, w: ((a @ w) ** 2, a.sin()),
        lambda a, w: w.softmax(-1) if hasattr(w, "softmax") else w.exp() / w.exp().sum(-1, keepdim=True),
    ],
    ids=["matmul_tanh", "broadcast_exp", "two_outputs", "softmax"],
)
def test_gradcheck_and_gradgradcheck_pass_on_correct_functions(fn):
    a, w = _inputs()
    assert tg.autograd.gradcheck(fn, (a, w))
    assert tg.autograd.gradgradcheck(fn, (a, w))


def test_gradcheck_accepts_a_single_tensor_and_non_tensor_args():
    a, _ = _inputs()
    assert tg.autograd.gradcheck(lambda t: t.sin() * t, a)
    assert tg.autograd.gradcheck(lambda t, k: t * k, (a, 3.0))


def test_gradcheck_reports_jacobian_mismatch_with_output_and_input_indices():
    a, w = _inputs()
    with pytest.raises(GradError) as e:
        tg.autograd.gradcheck(lambda x, y: (WrongExp.apply(x), y * 2), (a, w))
    msg = str(e.value)
    assert "Jacobian mismatch for output 0 with respect to input 0" in msg
    assert "numerical" in msg and "analytical" in msg
    with pytest.raises(GradError, match="Jacobian mismatch for output 1 with respect to input 1"):
        tg.autograd.gradcheck(lambda x, y: (x * 2, WrongExp.apply(y)), (a, w))


def test_gradcheck_raise_exception_false_returns_false():
    a, _ = _inputs()
    assert tg.autograd.gradcheck(WrongExp.apply, (a,), raise_exception=False) is False


def test_gradgradcheck_catches_a_wrong_second_derivative():
    a, _ = _inputs()
    assert tg.autograd.gradcheck(WrongSecond.apply, (a,))
    with pytest.raises(GradError, match="Jacobian mismatch for output 0 with respect to input 0"):
        tg.autograd.gradgradcheck(WrongSecond.apply, (a,))


def test_gradcheck_leaves_inputs_unchanged():
    a, w = _inputs()
    before = a.numpy().copy(), w.numpy().copy()
    tg.autograd.gradcheck(lambda x, y: (x @ y).exp(), (a, w))
    np.testing.assert_array_equal(a.numpy(), before[0])
    np.testing.assert_array_equal(w.numpy(), before[1])
    assert a.grad is None and w.grad is None


def test_gradcheck_warns_on_float32():
    x = tg.randn(3, requires_grad=True)
    with pytest.warns(UserWarning, match="float64"):
        tg.autograd.gradcheck(lambda t: t * 2, (x,), atol=1e-2, rtol=1e-2, eps=1e-3)


def test_gradcheck_matches_torch_gradcheck_verdict():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(1).standard_normal(4)
    x = tg.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: (t * t).log1p(), (x,))
    assert torch.autograd.gradcheck(lambda t: (t * t).log1p(), (xt,))


def test_gradcheck_on_non_contiguous_zero_size_and_scalar_inputs():
    tg.manual_seed(1)
    transposed = tg.randn(4, 3, dtype=tg.float64).t().detach().requires_grad_()
    strided = tg.randn(6, dtype=tg.float64)[::2].detach().requires_grad_()
    assert tg.autograd.gradcheck(lambda t: t.sin() * t, (transposed,))
    assert tg.autograd.gradcheck(lambda t: t.exp(), (strided,))
    assert tg.autograd.gradcheck(lambda t: t.exp(), (tg.randn(0, 3, dtype=tg.float64, requires_grad=True),))
    assert tg.autograd.gradcheck(lambda t: t.exp(), (tg.randn((), dtype=tg.float64, requires_grad=True),))
    with pytest.raises(GradError, match="Jacobian mismatch"):
        tg.autograd.gradcheck(WrongExp.apply, (transposed,))
