"""tg.autograd.Function: user-defined ops with a hand-written backward, checked against PyTorch's API."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.errors import GradError

from .helpers import assert_close, pair

torch = pytest.importorskip("torch")


def _both(name, forward, backward):
    """The same Function defined on tapegrad and on torch."""
    return (
        type(name, (tg.autograd.Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)}),
        type(name, (torch.autograd.Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)}),
    )


def _scaled_square_fwd(ctx, x, scale=1.0):
    ctx.save_for_backward(x)
    ctx.scale = scale
    return x * x * scale


def _scaled_square_bwd(ctx, g):
    (x,) = ctx.saved_tensors
    return 2 * x * g * ctx.scale, None


ScaledSquare, ScaledSquareT = _both("ScaledSquare", _scaled_square_fwd, _scaled_square_bwd)


def test_save_for_backward_and_grad_fn_name():
    x, xt = pair([1.0, -2.0, 3.0])
    y, yt = ScaledSquare.apply(x, 3.0), ScaledSquareT.apply(xt, 3.0)
    assert y.grad_fn.name() == "ScaledSquareBackward" and "grad_fn=<ScaledSquareBackward>" in repr(y)
    assert_close(y, yt)
    y.sum().backward()
    yt.sum().backward()
    assert_close(x.grad, xt.grad)


def test_keyword_arguments_are_bound_to_their_positions():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    ScaledSquare.apply(x, scale=2.0).sum().backward()
    assert_close(x.grad, [4.0, 8.0])


def test_tensor_passed_by_keyword_gets_its_gradient():
    def fwd(ctx, a, b=None):
        ctx.save_for_backward(a, b)
        return a * b

    def bwd(ctx, g):
        a, b = ctx.saved_tensors
        return g * b, g * a

    Mul, _ = _both("KwMul", fwd, bwd)
    a, b = tg.tensor([1.0, 2.0], requires_grad=True), tg.tensor([3.0, 4.0], requires_grad=True)
    Mul.apply(a, b=b).sum().backward()
    assert_close(a.grad, [3.0, 4.0])
    assert_close(b.grad, [1.0, 2.0])


def test_needs_input_grad():
    seen = []

    def fwd(ctx, a, b, k):
        return a * b * k

    def bwd(ctx, g):
        seen.append(ctx.needs_input_grad)
        return g, g, None

    F, FT = _both("Needs", fwd, bwd)
    a, b = tg.tensor([1.0], requires_grad=True), tg.tensor([2.0])
    F.apply(a, b, 3).sum().backward()
    at, bt = torch.tensor([1.0], requires_grad=True), torch.tensor([2.0])
    FT.apply(at, bt, 3).sum().backward()
    assert seen[0] == seen[1] == (True, False, False)


def test_forward_runs_without_recording():
    def fwd(ctx, x):
        assert not tg.is_grad_enabled()
        return x.exp()

    def bwd(ctx, g):
        return g

    F, _ = _both("NoRecord", fwd, bwd)
    y = F.apply(tg.tensor([1.0], requires_grad=True))
    assert y.grad_fn.name() == "NoRecordBackward"


def test_no_input_requires_grad_gives_plain_output():
    y = ScaledSquare.apply(tg.tensor([1.0, 2.0]))
    assert not y.requires_grad and y.grad_fn is None


def test_mark_non_differentiable_and_multiple_outputs():
    def fwd(ctx, x):
        idx = tg.tensor(np.argsort(x.numpy(), kind="stable")) if isinstance(x, tg.Tensor) else x.argsort()
        values = x[idx]
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        ctx.n = x.shape[0]
        return values, idx

    def bwd(ctx, g_values, g_idx):
        (idx,) = ctx.saved_tensors
        lib = tg if isinstance(g_values, tg.Tensor) else torch
        out = lib.zeros(ctx.n, dtype=g_values.dtype)
        out[idx] = g_values
        return out

    Sort, SortT = _both("Sort", fwd, bwd)
    x, xt = pair([3.0, 1.0, 2.0])
    (v, i), (vt, it) = Sort.apply(x), SortT.apply(xt)
    assert not i.requires_grad and v.requires_grad and not it.requires_grad
    w = np.array([1.0, 2.0, 3.0])
    (v * tg.tensor(w)).sum().backward()
    (vt * torch.tensor(w)).sum().backward()
    assert_close(x.grad, xt.grad)


def test_mark_non_differentiable_on_float_output():
    def fwd(ctx, x):
        mask = (x > 0).to(x.dtype)
        ctx.mark_non_differentiable(mask)
        return x * 2, mask

    def bwd(ctx, g, g_mask):
        return g * 2

    F, FT = _both("WithMask", fwd, bwd)
    (y, m), (yt, mt) = (
        F.apply(tg.tensor([1.0, -1.0], requires_grad=True)),
        FT.apply(torch.tensor([1.0, -1.0], requires_grad=True)),
    )
    assert not m.requires_grad and not mt.requires_grad
    assert y.requires_grad and yt.requires_grad


def _two_fwd(ctx, x):
    return x * 2, x * 3


def _two_bwd(ctx, g1, g2):
    ctx.seen = (g1 is None, g2 is None)
    r = 0
    if g1 is not None:
        r = r + g1 * 2
    if g2 is not None:
        r = r + g2 * 3
    return r


def test_materialize_grads_default_gives_zeros_for_unused_outputs():
    Two, TwoT = _both("Two", _two_fwd, _two_bwd)
    x, xt = pair([1.0, 2.0])
    p, _ = Two.apply(x)
    pt, _ = TwoT.apply(xt)
    p.sum().backward()
    pt.sum().backward()
    assert p.grad_fn.ctx.seen == (False, False)
    assert_close(x.grad, xt.grad)


def test_set_materialize_grads_false_passes_none():
    def fwd(ctx, x):
        ctx.set_materialize_grads(False)
        return _two_fwd(ctx, x)

    Two, TwoT = _both("TwoNone", fwd, _two_bwd)
    x, xt = pair([1.0, 2.0])
    _, q = Two.apply(x)
    _, qt = TwoT.apply(xt)
    q.sum().backward()
    qt.sum().backward()
    assert q.grad_fn.ctx.seen == (True, False)
    assert_close(x.grad, xt.grad)


def test_multiple_outputs_both_used_match_torch():
    Two, TwoT = _both("TwoBoth", _two_fwd, _two_bwd)
    x, xt = pair([1.0, 2.0])
    p, q = Two.apply(x)
    pt, qt = TwoT.apply(xt)
    (p * q).sum().backward()
    (pt * qt).sum().backward()
    assert_close(x.grad, xt.grad)


def _cube_fwd(ctx, x):
    ctx.save_for_backward(x)
    return x**3


def _cube_bwd(ctx, g):
    (x,) = ctx.saved_tensors
    return 3 * x * x * g


def test_higher_order_when_backward_uses_tapegrad_ops():
    Cube, CubeT = _both("Cube", _cube_fwd, _cube_bwd)
    x, xt = pair(0.8)
    res = []
    for lib, F, t in ((tg, Cube, x), (torch, CubeT, xt)):
        (d1,) = lib.autograd.grad(F.apply(t), t, create_graph=True)
        (d2,) = lib.autograd.grad(d1, t, create_graph=True)
        (d3,) = lib.autograd.grad(d2, t)
        res.append((d1, d2, d3))
    for a, b in zip(*res):
        assert_close(a, b)
    assert res[0][2].item() == pytest.approx(6.0)


def test_saved_output_supports_higher_order():
    def fwd(ctx, x):
        out = x.exp()
        ctx.save_for_backward(out)
        return out

    def bwd(ctx, g):
        (out,) = ctx.saved_tensors
        return g * out

    Exp, ExpT = _both("MyExp", fwd, bwd)
    x, xt = pair([0.3, -0.4])
    (g,) = tg.autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad(ExpT.apply(xt).sum(), xt, create_graph=True)
    (h,) = tg.autograd.grad(g.sum(), x)
    (ht,) = torch.autograd.grad(gt.sum(), xt)
    assert_close(h, ht)


def test_function_inside_a_larger_graph_and_gradcheck():
    Cube, _ = _both("Cube2", _cube_fwd, _cube_bwd)
    x = tg.randn(4, dtype=tg.float64, requires_grad=True)
    assert tg.autograd.gradcheck(lambda t: Cube.apply(t.sin()) * t, (x,))
    assert tg.autograd.gradgradcheck(lambda t: Cube.apply(t.sin()) * t, (x,))


def test_wrong_number_of_gradients_is_a_clear_error():
    def fwd(ctx, a, b):
        return a * b

    Few, _ = _both("TooFew", fwd, lambda ctx, g: g)
    Many, _ = _both("TooMany", lambda ctx, a: a * 2, lambda ctx, g: (g, g, g))
    a, b = tg.tensor([1.0], requires_grad=True), tg.tensor([2.0], requires_grad=True)
    with pytest.raises(GradError) as e:
        Few.apply(a, b).sum().backward()
    assert "TooFew" in str(e.value) and "1" in str(e.value) and "2 inputs" in str(e.value)
    with pytest.raises(GradError, match=r"TooMany.*3 gradients.*1 input"):
        Many.apply(a).sum().backward()


def test_extra_none_gradients_are_accepted():
    Pad, _ = _both("PadNone", lambda ctx, a: a * 2, lambda ctx, g: (g * 2, None))
    a = tg.tensor([1.0], requires_grad=True)
    Pad.apply(a).sum().backward()
    assert_close(a.grad, [2.0])


def test_gradient_of_wrong_shape_is_a_clear_error():
    Bad, _ = _both("BadShape", lambda ctx, a: a * 2, lambda ctx, g: g.sum())
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradError, match=r"BadShapeBackward.*shape \(\).*\(2,\)"):
        Bad.apply(a).sum().backward()


def test_saved_tensors_freed_after_backward_names_the_function():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = ScaledSquare.apply(x).sum()
    y.backward()
    with pytest.raises(GradError, match=r"ScaledSquareBackward.*retain_graph=True"):
        y.backward()


def test_retain_graph_keeps_saved_tensors():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = ScaledSquare.apply(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert_close(x.grad, [4.0, 8.0])


def test_in_place_change_of_saved_tensor_is_caught():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    z = x * 1
    y = ScaledSquare.apply(z)
    z.add_(1)
    with pytest.raises(GradError, match=r"ScaledSquareBackward.*add_"):
        y.sum().backward()


def test_output_that_is_an_input_does_not_change_the_caller_tensor():
    Ident, _ = _both("Ident", lambda ctx, a: a, lambda ctx, g: g * 5)
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    out = Ident.apply(a)
    assert a.is_leaf and out is not a
    out.sum().backward()
    assert_close(a.grad, [5.0, 5.0])


def test_hooks_and_no_grad_with_functions():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        assert not ScaledSquare.apply(a).requires_grad
    y = ScaledSquare.apply(a)
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert_close(a.grad, [20.0, 40.0])


def test_non_tensor_outputs_get_none_gradients_like_torch():
    seen = []

    def fwd(ctx, x):
        return x * 2, 3

    def bwd(ctx, g, g_int):
        seen.append(g_int)
        return g * 2

    F, FT = _both("WithInt", fwd, bwd)
    x, xt = pair([1.0, 2.0])
    (y, k), (yt, kt) = F.apply(x), FT.apply(xt)
    assert k == kt == 3
    y.sum().backward()
    yt.sum().backward()
    assert seen == [None, None]
    assert_close(x.grad, xt.grad)


def test_gradient_takes_the_dtype_of_its_input():
    Cast, CastT = _both("CastGrad", lambda ctx, a: a * 2, lambda ctx, g: (g * 2).float())
    x, xt = pair([1.0, 2.0])
    Cast.apply(x).sum().backward()
    CastT.apply(xt).sum().backward()
    assert x.grad.dtype == tg.float64 and xt.grad.dtype == torch.float64


def test_backward_returning_a_non_tensor_is_a_clear_error():
    Num, _ = _both("ReturnsNumber", lambda ctx, a: a * 2, lambda ctx, g: 5)
    with pytest.raises(TypeError, match=r"ReturnsNumber.backward returned a int.*Tensor"):
        Num.apply(tg.tensor([1.0], requires_grad=True)).sum().backward()


def test_input_returned_and_marked_non_differentiable():
    def fwd(ctx, a, b):
        ctx.mark_non_differentiable(a)
        return a, b * 2

    Pass, _ = _both("PassThrough", fwd, lambda ctx, ga, gb: (None, gb * 2))
    a, b = tg.tensor([1.0], requires_grad=True), tg.tensor([1.0], requires_grad=True)
    out_a, out_b = Pass.apply(a, b)
    assert not out_a.requires_grad and out_b.requires_grad
