"""Convolution and pooling composites (ops/conv.py) against PyTorch, forward and backward, plus gradcheck and errors."""

import numpy as np
import pytest

import tapegrad as tg

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

TOL = {"float64": {"rtol": 1e-9, "atol": 1e-10}, "float32": {"rtol": 2e-4, "atol": 2e-5}}


def _tensors(arrays, dtype):
    """The same inputs for tapegrad and torch; float arrays become `dtype` leaves that require grad."""
    tgs, ths = [], []
    for a in arrays:
        if a is None:
            tgs.append(None), ths.append(None)
            continue
        a = a.astype(dtype) if a.dtype.kind == "f" else a
        float_ = a.dtype.kind == "f"
        tgs.append(tg.tensor(a, requires_grad=float_))
        ths.append(torch.tensor(a, requires_grad=float_))
    return tgs, ths


def check(tg_fn, torch_fn, *arrays, dtype="float64", seed=0):
    """Compare outputs, then input gradients for a random cotangent (of the first output when there are several)."""
    tgs, ths = _tensors(arrays, dtype)
    out, ref = tg_fn(*tgs), torch_fn(*ths)
    if isinstance(ref, tuple):
        for o, r in zip(out, ref):
            np.testing.assert_allclose(o.numpy(), r.detach().numpy(), **TOL[dtype])
        out, ref = out[0], ref[0]
    assert tuple(out.shape) == tuple(ref.shape)
    assert out.dtype.name == str(ref.dtype).replace("torch.", ""), (out.dtype, ref.dtype)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **TOL[dtype])
    g = np.random.default_rng(seed).standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(tg.tensor(g))
    ref.backward(torch.tensor(g))
    for t, r in zip(tgs, ths):
        if t is not None and r.requires_grad:
            np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), **TOL[dtype])


def rnd(*shape, seed=1):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


# *** convolution ***

CONV = [
    # (nd, x shape, w shape, kwargs)
    (1, (2, 3, 9), (4, 3, 3), {}),
    (1, (2, 4, 10), (6, 2, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}),
    (1, (3, 7), (2, 3, 4), {"padding": "same"}),  # unbatched, even kernel: the extra pad goes after
    (2, (2, 3, 7, 6), (4, 3, 3, 2), {"stride": (2, 1), "padding": (1, 0)}),
    (2, (1, 4, 8, 8), (4, 1, 3, 3), {"groups": 4, "padding": "same", "dilation": 2}),  # depthwise
    (2, (2, 2, 5, 5), (3, 2, 1, 1), {"padding": "valid"}),
    (2, (1, 6, 9, 7), (4, 3, 3, 3), {"stride": 3, "padding": 2, "dilation": (1, 2), "groups": 2}),
    (3, (1, 2, 5, 4, 6), (3, 2, 2, 3, 2), {"stride": (1, 2, 1), "padding": 1}),
    (3, (2, 5, 5, 5), (2, 2, 3, 3, 3), {"padding": "same"}),  # unbatched 3-d
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("nd, xs, ws, kw", CONV)
def test_conv(nd, xs, ws, kw, dtype):
    fn, ref = getattr(tg, f"conv{nd}d"), getattr(TF, f"conv{nd}d")
    bias = rnd(ws[0], seed=3)
    check(
        lambda x, w, b: fn(x, w, b, **kw),
        lambda x, w, b: ref(x, w, b, **kw),
        rnd(*xs),
        rnd(*ws, seed=2),
        bias,
        dtype=dtype,
    )


def test_conv_without_bias_and_through_nn_functional():
    import tapegrad.nn.functional as F

    check(
        lambda x, w: F.conv2d(x, w, stride=2), lambda x, w: TF.conv2d(x, w, stride=2), rnd(1, 2, 6, 6), rnd(3, 2, 3, 3)
    )


TRANSPOSED = [
    (1, (2, 3, 5), (3, 2, 3), {}),
    (1, (1, 4, 6), (4, 3, 3), {"stride": 3, "padding": 1, "output_padding": 2, "groups": 2, "dilation": 2}),
    (2, (2, 2, 4, 3), (2, 3, 3, 2), {"stride": 2, "padding": (1, 0), "output_padding": (1, 0)}),
    (2, (4, 3, 3), (4, 1, 2, 2), {"groups": 2, "dilation": 2}),  # unbatched
    (3, (1, 2, 3, 2, 3), (2, 2, 2, 2, 3), {"stride": (2, 1, 2), "padding": 1, "output_padding": (1, 0, 0)}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("nd, xs, ws, kw", TRANSPOSED)
def test_conv_transpose(nd, xs, ws, kw, dtype):
    fn, ref = getattr(tg, f"conv_transpose{nd}d"), getattr(TF, f"conv_transpose{nd}d")
    bias = rnd(ws[1] * kw.get("groups", 1), seed=3)
    check(
        lambda x, w, b: fn(x, w, b, **kw),
        lambda x, w, b: ref(x, w, b, **kw),
        rnd(*xs),
        rnd(*ws, seed=2),
        bias,
        dtype=dtype,
    )


def test_conv_transpose_inverts_conv_shape():
    x = tg.randn(1, 2, 7, 7)
    w = tg.randn(3, 2, 3, 3)
    y = tg.conv2d(x, w, stride=2, padding=1)
    assert tg.conv_transpose2d(y, w, stride=2, padding=1).shape == x.shape


# *** pooling ***

MAX_POOL = [
    (1, (2, 3, 9), {"kernel_size": 3}),
    (1, (2, 8), {"kernel_size": 2, "stride": 1, "padding": 1, "dilation": 3}),
    (1, (1, 2, 10), {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    (2, (2, 3, 6, 7), {"kernel_size": 2}),
    (2, (1, 2, 7, 8), {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 1), "dilation": (1, 2)}),
    (2, (1, 2, 6, 6), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    (2, (2, 5, 5), {"kernel_size": 3, "stride": 1, "padding": 1}),  # overlapping windows share maxima
    (3, (1, 2, 4, 5, 6), {"kernel_size": 2, "stride": (1, 2, 2), "padding": (1, 0, 1)}),
    (3, (1, 1, 5, 5, 5), {"kernel_size": 3, "stride": 2, "ceil_mode": True, "dilation": (1, 1, 2)}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("nd, xs, kw", MAX_POOL)
def test_max_pool(nd, xs, kw, dtype):
    fn, ref = getattr(tg, f"max_pool{nd}d"), getattr(TF, f"max_pool{nd}d")
    check(
        lambda x: fn(x, **kw, return_indices=True), lambda x: ref(x, **kw, return_indices=True), rnd(*xs), dtype=dtype
    )


def test_max_pool_gradient_goes_to_one_element_per_window():
    x = tg.ones(1, 1, 2, 4, requires_grad=True)  # every element ties
    tg.max_pool2d(x, 2).sum().backward()
    assert x.grad.tolist() == [[[[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]]


AVG_POOL = [
    (1, (2, 3, 9), {"kernel_size": 3}),
    (1, (2, 3, 9), {"kernel_size": 4, "stride": 2, "padding": 2, "ceil_mode": True}),
    (1, (1, 2, 10), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False, "ceil_mode": True}),
    (2, (2, 3, 6, 7), {"kernel_size": 2}),
    (2, (1, 2, 7, 8), {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 1), "count_include_pad": False}),
    (2, (1, 2, 6, 6), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    (2, (2, 5, 5), {"kernel_size": 3, "stride": 2, "padding": 1, "divisor_override": 4}),
    (3, (1, 2, 4, 5, 6), {"kernel_size": 2, "stride": (1, 2, 2), "padding": (1, 0, 1), "count_include_pad": False}),
    (3, (1, 1, 5, 5, 5), {"kernel_size": 3, "stride": 2, "ceil_mode": True, "padding": 1}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("nd, xs, kw", AVG_POOL)
def test_avg_pool(nd, xs, kw, dtype):
    fn, ref = getattr(tg, f"avg_pool{nd}d"), getattr(TF, f"avg_pool{nd}d")
    check(lambda x: fn(x, **kw), lambda x: ref(x, **kw), rnd(*xs), dtype=dtype)


ADAPTIVE = [
    (1, (2, 3, 10), 4),
    (1, (3, 7), 7),
    (2, (2, 3, 7, 9), (3, 4)),
    (2, (1, 2, 5, 5), (None, 2)),
    (2, (2, 6, 4), 1),
    (3, (1, 2, 5, 6, 7), (2, 3, 4)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("nd, xs, size", ADAPTIVE)
def test_adaptive_pool(nd, xs, size, dtype):
    avg, ref_avg = getattr(tg, f"adaptive_avg_pool{nd}d"), getattr(TF, f"adaptive_avg_pool{nd}d")
    mx, ref_mx = getattr(tg, f"adaptive_max_pool{nd}d"), getattr(TF, f"adaptive_max_pool{nd}d")
    check(lambda x: avg(x, size), lambda x: ref_avg(x, size), rnd(*xs), dtype=dtype)
    check(
        lambda x: mx(x, size, return_indices=True),
        lambda x: ref_mx(x, size, return_indices=True),
        rnd(*xs),
        dtype=dtype,
    )


# *** gradcheck in float64 ***


def _leaf(*shape, seed=0):
    return tg.tensor(rnd(*shape, seed=seed), dtype=tg.float64, requires_grad=True)


@pytest.mark.parametrize(
    "fn, shapes",
    [
        (lambda x, w, b: tg.conv1d(x, w, b, stride=2, padding=1, dilation=2), [(1, 2, 6), (2, 2, 2), (2,)]),
        (lambda x, w, b: tg.conv2d(x, w, b, padding="same", groups=2), [(1, 2, 3, 3), (2, 1, 2, 2), (2,)]),
        (lambda x, w, b: tg.conv_transpose2d(x, w, b, stride=2, output_padding=1), [(1, 2, 2, 2), (2, 1, 2, 2), (1,)]),
        (lambda x: tg.max_pool2d(x, 2, stride=1, padding=1), [(1, 1, 3, 3)]),
        (lambda x: tg.avg_pool2d(x, 2, padding=1, ceil_mode=True, count_include_pad=False), [(1, 1, 3, 3)]),
        (lambda x: tg.adaptive_avg_pool2d(x, (2, 3)), [(1, 1, 3, 4)]),
        (lambda x: tg.adaptive_max_pool1d(x, 2), [(1, 2, 5)]),
        (lambda x, w: tg.conv3d(x, w, stride=(1, 2, 1)), [(1, 1, 2, 3, 2), (1, 1, 1, 2, 2)]),
    ],
)
def test_gradcheck(fn, shapes):
    inputs = [_leaf(*s, seed=i) for i, s in enumerate(shapes)]
    assert tg.autograd.gradcheck(fn, inputs)


def test_conv_second_order():
    x, w = _leaf(1, 1, 4, seed=1), _leaf(1, 1, 2, seed=2)
    assert tg.autograd.gradgradcheck(lambda a, b: tg.conv1d(a, b, padding=1), [x, w])


# *** errors ***


def _raises(exc, fn, *fragments):
    with pytest.raises(exc) as info:
        fn()
    for f in fragments:
        assert f in str(info.value), str(info.value)


def test_conv_errors():
    x, w = tg.randn(1, 4, 5, 5), tg.randn(8, 3, 3, 3)
    _raises(
        ValueError,
        lambda: tg.conv2d(x, w),
        "(8, 3, 3, 3)",
        "expects input with 3 channels",
        "(1, 4, 5, 5)",
        "4 channels",
    )
    _raises(
        ValueError, lambda: tg.conv2d(tg.randn(1, 6, 5, 5), tg.randn(4, 3, 3, 3), groups=3), "not divisible by groups=3"
    )
    _raises(ValueError, lambda: tg.conv2d(tg.randn(5, 5), w), "expected a 3-D (unbatched) or 4-D", "(5, 5)")
    _raises(ValueError, lambda: tg.conv2d(tg.randn(1, 3, 5, 5), tg.randn(8, 3, 3)), "weight must be 4-D")
    _raises(ValueError, lambda: tg.conv2d(tg.randn(1, 3, 5, 5), w, stride=2, padding="same"), "'same'", "stride")
    _raises(ValueError, lambda: tg.conv2d(tg.randn(1, 3, 5, 5), w, padding="full"), "'valid', 'same'")
    _raises(ValueError, lambda: tg.conv2d(tg.randn(1, 3, 2, 2), w), "larger than the padded input", "(2, 2)")
    _raises(ValueError, lambda: tg.conv2d(tg.randn(1, 3, 5, 5), w, tg.randn(3)), "bias must have shape (8,)")
    _raises(
        ValueError,
        lambda: tg.conv2d(tg.randn(1, 3, 5, 5), w, stride=(1, 2, 3)),
        "stride must be an int or a tuple of 2",
    )
    _raises(ValueError, lambda: tg.conv2d(tg.randn(1, 3, 5, 5), w, stride=0), "stride must be >= 1")
    _raises(TypeError, lambda: tg.conv2d(tg.randn(1, 3, 5, 5, dtype=tg.float64), w), "float64", "float32")
    # a nested list is an operand like any other (ops/operands.py), so its shape is what is wrong
    _raises(ValueError, lambda: tg.conv2d([1.0], w), "expected a 3-D (unbatched) or 4-D", "(1,)")
    _raises(TypeError, lambda: tg.conv2d("x", w), "argument 'input'", "str")


def test_conv_transpose_errors():
    x = tg.randn(1, 4, 3, 3)
    _raises(
        ValueError, lambda: tg.conv_transpose2d(x, tg.randn(3, 2, 3, 3)), "expects input with 3 channels", "4 channels"
    )
    _raises(ValueError, lambda: tg.conv_transpose2d(x, tg.randn(4, 2, 3, 3), output_padding=1), "output_padding")
    _raises(ValueError, lambda: tg.conv_transpose2d(x, tg.randn(4, 2, 1, 1), padding=2), "padding (2, 2) is too large")
    _raises(
        TypeError, lambda: tg.conv_transpose2d(x, tg.randn(4, 2, 3, 3), padding="same"), "strings are for conv only"
    )


def test_pool_errors():
    x = tg.randn(1, 1, 4, 4)
    _raises(ValueError, lambda: tg.max_pool2d(x, 2, padding=2), "at most half")
    _raises(ValueError, lambda: tg.max_pool2d(x, 5), "larger than the padded input")
    _raises(ValueError, lambda: tg.avg_pool2d(x, (2, 2, 2)), "kernel_size must be an int or a tuple of 2")
    _raises(ValueError, lambda: tg.max_pool1d(x, 2), "expected a 2-D (unbatched) or 3-D")
    _raises(TypeError, lambda: tg.avg_pool2d(tg.ones(1, 1, 4, 4, dtype=tg.int64), 2), "floating-point")
    _raises(ValueError, lambda: tg.adaptive_avg_pool2d(x, (2, 2, 2)), "output_size")
    _raises(ValueError, lambda: tg.avg_pool2d(x, 2, divisor_override=0), "divisor_override")


# *** eager fast paths (ops/conv.py _gemm_conv, _fused_conv, _tiled_max_pool) against PyTorch and the composites ***


def _grads_to_second_order(tg_fn, th_fn, arrays, seed=0):
    """Outputs, first-order input gradients (create_graph) and the gradients of their squared sum (second order),
    tapegrad against torch in float64."""
    tgs, ths = _tensors(arrays, "float64")
    out, ref = tg_fn(*tgs), th_fn(*ths)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **TOL["float64"])
    g = np.random.default_rng(seed).standard_normal(tuple(ref.shape))
    first = tg.autograd.grad(out, tgs, tg.tensor(g), create_graph=True)
    ref_first = torch.autograd.grad(ref, ths, torch.tensor(g), create_graph=True)
    for a, b in zip(first, ref_first):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **TOL["float64"])
    second = tg.autograd.grad(sum((a * a).sum() for a in first), tgs, allow_unused=True)
    ref_second = torch.autograd.grad(sum((b * b).sum() for b in ref_first), ths, allow_unused=True)
    for a, b in zip(second, ref_second):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a.numpy(), b.numpy(), **TOL["float64"])


EAGER_CONV = [
    (2, (2, 3, 9, 8), (4, 3, 3, 2), {"stride": (2, 1), "padding": 1, "dilation": (1, 2)}),  # non-square kernel
    (2, (1, 4, 7, 7), (6, 2, 3, 3), {"groups": 2, "padding": "same"}),  # batch 1, groups
    (1, (3, 2, 10), (5, 2, 4), {"stride": 3}),
    (3, (2, 2, 5, 4, 5), (3, 2, 2, 3, 2), {"padding": (0, 1, 1)}),
    (2, (2, 16, 6, 5), (32, 16, 3, 3), {"padding": 1}),  # C*K*O >= 4096: the 2-D (N*P, C*K) @ (C*K, O) orientation
]


@pytest.mark.parametrize("nd, xs, ws, kw", EAGER_CONV)
def test_eager_conv_first_and_second_order(nd, xs, ws, kw):
    fn, ref = getattr(tg, f"conv{nd}d"), getattr(TF, f"conv{nd}d")
    _grads_to_second_order(
        lambda x, w, b: fn(x, w, b, **kw), lambda x, w, b: ref(x, w, b, **kw), [rnd(*xs), rnd(*ws, seed=2), rnd(ws[0])]
    )


def test_eager_conv_non_contiguous_input_and_contiguous_output():
    a, w = rnd(2, 3, 8, 6), rnd(4, 3, 3, 3, seed=2)
    x = tg.tensor(a.transpose(0, 1, 3, 2).copy(), requires_grad=True)
    out = tg.conv2d(x.transpose(2, 3), tg.tensor(w))
    ref_x = torch.tensor(a, requires_grad=True)
    ref = TF.conv2d(ref_x, torch.tensor(w))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **TOL["float64"])
    assert out._data.flags.c_contiguous  # NCHW in memory, as PyTorch's result
    out.sum().backward(), ref.sum().backward()
    np.testing.assert_allclose(x.grad.numpy().transpose(0, 1, 3, 2), ref_x.grad.numpy(), **TOL["float64"])


def _counting_tiled_pool(monkeypatch):
    from tapegrad.ops import conv as C

    taken = []
    original = C._tiled_max_pool

    def counted(*args):
        out = original(*args)
        taken.append(out is not None)
        return out

    monkeypatch.setattr(C, "_tiled_max_pool", counted)
    return taken


def _tied(*shape, seed=0):
    """Small integers, so that most windows hold ties (the gradient must go to the first maximum only)."""
    return np.random.default_rng(seed).integers(-2, 3, shape).astype(np.float64)


TILED_POOL = [
    (2, (2, 3, 8, 8), {"kernel_size": 2}),
    (2, (1, 2, 9, 7), {"kernel_size": (3, 2)}),  # floor mode drops the last row and column
    (2, (3, 6, 6), {"kernel_size": 2, "stride": 2, "ceil_mode": True}),  # unbatched; ceil_mode with no extra window
    (1, (2, 3, 9), {"kernel_size": 3}),
    (2, (1, 2, 9, 9), {"kernel_size": 3}),  # 9 offsets: an odd one out in two knockout rounds
    (2, (2, 2, 3, 4), {"kernel_size": 1}),
    (3, (1, 2, 4, 4, 6), {"kernel_size": (2, 2, 3)}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("nd, xs, kw", TILED_POOL)
def test_tiled_max_pool_against_torch(nd, xs, kw, dtype, monkeypatch):
    taken = _counting_tiled_pool(monkeypatch)
    fn, ref = getattr(tg, f"max_pool{nd}d"), getattr(TF, f"max_pool{nd}d")
    check(lambda x: fn(x, **kw), lambda x: ref(x, **kw), _tied(*xs), dtype=dtype)
    check(
        lambda x: fn(x, **kw, return_indices=True), lambda x: ref(x, **kw, return_indices=True), rnd(*xs), dtype=dtype
    )
    assert taken == [True, True]


@pytest.mark.parametrize("nd, xs, kw", TILED_POOL[:2])
def test_tiled_max_pool_second_order(nd, xs, kw, monkeypatch):
    taken = _counting_tiled_pool(monkeypatch)
    fn, ref = getattr(tg, f"max_pool{nd}d"), getattr(TF, f"max_pool{nd}d")
    # the square makes the second order non-zero: d/dx of g * 2 * pool(x) routes back through the same element
    _grads_to_second_order(lambda x: fn(x, **kw) ** 2, lambda x: ref(x, **kw) ** 2, [_tied(*xs)])
    assert taken and all(taken)


def test_tiled_max_pool_special_values(monkeypatch):
    """-0.0 stays -0.0, infinities are exact, a window with a nan gives nan (its first nan gets the gradient)."""
    taken = _counting_tiled_pool(monkeypatch)
    a = np.array([[-0.0, -1.0, np.inf, 1.0], [-2.0, -3.0, np.inf, -np.inf], [-np.inf, -np.inf, 0.0, -0.0],
                  [-np.inf, -np.inf, -0.0, 0.0]]).reshape(1, 1, 4, 4)
    out = tg.max_pool2d(tg.tensor(a), 2).numpy()
    ref = TF.max_pool2d(torch.tensor(a), 2).numpy()
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(np.signbit(out), np.signbit(ref))
    check(lambda x: tg.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), a)
    assert taken == [True, True]
    b = a.copy()
    b[0, 0, 1, 1] = b[0, 0, 3, 2] = np.nan  # the nan is the window's maximum, its first nan gets the gradient
    check(lambda x: tg.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), np.where(np.isinf(b), 5 * np.sign(b), b))
    assert taken[2:] == [True]


def test_tiled_max_pool_non_contiguous_and_int(monkeypatch):
    taken = _counting_tiled_pool(monkeypatch)
    a = _tied(2, 3, 6, 8)
    x = tg.tensor(a.transpose(0, 1, 3, 2).copy(), requires_grad=True)
    out = tg.max_pool2d(x.transpose(2, 3), 2)
    ref_x = torch.tensor(a, requires_grad=True)
    ref = TF.max_pool2d(ref_x, 2)
    np.testing.assert_array_equal(out.numpy(), ref.detach().numpy())
    g = rnd(*ref.shape)
    out.backward(tg.tensor(g)), ref.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy().transpose(0, 1, 3, 2), ref_x.grad.numpy())
    ints = tg.max_pool2d(tg.tensor(a.astype(np.int32)), 2)  # PyTorch's CPU max_pool2d takes no ints: compare values
    assert ints.dtype is tg.int32
    np.testing.assert_array_equal(ints.numpy(), ref.detach().numpy().astype(np.int32))
    assert taken == [True, True]


def test_eager_fast_paths_agree_with_the_traced_composites():
    """Under vmap (an interpreter) conv and pooling take the composites; both paths give the same values."""
    x, w = tg.tensor(rnd(3, 2, 2, 8, 6)), tg.tensor(rnd(4, 2, 3, 3, seed=2))
    f = lambda a: tg.max_pool2d(tg.conv2d(a, w, padding=1).relu(), 2)
    batched = tg.func.vmap(f)(x)
    eager = tg.stack([f(x[i]) for i in range(3)])
    np.testing.assert_allclose(batched.numpy(), eager.numpy(), **TOL["float64"])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("nd, xs, ws, kw", EAGER_CONV[:1] + EAGER_CONV[2:])
def test_fused_conv_in_blocks_against_torch(nd, xs, ws, kw, dtype, monkeypatch):
    """The eager conv as one Node (ops/conv.py _fused_conv), its images split into uneven blocks: values and all
    three gradients as PyTorch's, second order through the replayed composite."""
    from tapegrad.ops import conv as C

    monkeypatch.setattr(C, "_BLOCK_BYTES", 1)  # one image per block
    fn, ref = getattr(tg, f"conv{nd}d"), getattr(TF, f"conv{nd}d")
    xs = (3,) + xs[1:]
    arrays = [rnd(*xs), rnd(*ws, seed=2), rnd(ws[0])]
    check(lambda x, w, b: fn(x, w, b, **kw), lambda x, w, b: ref(x, w, b, **kw), *arrays, dtype=dtype)
    x, w, b = (tg.tensor(a.astype(dtype), requires_grad=True) for a in arrays)
    assert fn(x, w, b, **kw).grad_fn.name() == "ConvolutionBackward0"
    assert C._blocks(3, 1) == [(0, 1), (1, 2), (2, 3)]
    if dtype == "float64":
        _grads_to_second_order(lambda x, w, b: fn(x, w, b, **kw), lambda x, w, b: ref(x, w, b, **kw), arrays)


def test_fused_conv_skips_the_input_gradient_it_does_not_need(monkeypatch):
    """An input that needs no gradient (W2's images) gets none, and no window gradient is folded for it."""
    from tapegrad.ops import conv as C

    folds = []
    original = C.Fold.impl
    monkeypatch.setattr(C.Fold, "impl", lambda *a, **k: folds.append(1) or original(*a, **k))
    a, wa = rnd(4, 2, 7, 7), rnd(5, 2, 3, 3, seed=2)
    x, w = tg.tensor(a), tg.tensor(wa, requires_grad=True)
    tg.conv2d(x, w).square().sum().backward()
    assert x.grad is None and folds == []
    tw = torch.tensor(wa, requires_grad=True)
    TF.conv2d(torch.tensor(a), tw).square().sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), **TOL["float64"])
    x.requires_grad_()
    tg.conv2d(x, w).sum().backward()
    assert x.grad is not None and folds == [1]


def test_fused_conv_weight_changed_in_place_before_backward():
    """The backward reads the weight the forward used: changing it in place first is an error, as in PyTorch."""
    x, w = tg.tensor(rnd(2, 2, 5, 5), requires_grad=True), tg.tensor(rnd(3, 2, 3, 3, seed=2), requires_grad=True)
    out = tg.conv2d(x, w)
    with tg.no_grad():
        w.mul_(2)
    with pytest.raises(tg.errors.GradError, match="modified by an in-place operation"):
        out.sum().backward()


@pytest.mark.parametrize("xs, ws", [((0, 2, 5, 5), (3, 2, 3, 3)), ((2, 0, 5, 5), (3, 0, 3, 3))])
def test_fused_conv_empty_batch_or_channels(xs, ws):
    """No images (no block at all; PyTorch's empty result) or no input channels (every output is the bias, as the
    composite gives; PyTorch 2.13 returns an empty (2, 0, 3, 3) there), and gradients of the inputs' shapes."""
    x, w, b = tg.zeros(*xs, requires_grad=True), tg.ones(*ws, requires_grad=True), tg.ones(ws[0], requires_grad=True)
    out = tg.conv2d(x, w, b)
    if xs[0] == 0:
        ref = TF.conv2d(torch.zeros(*xs), torch.ones(*ws), torch.ones(ws[0])).numpy()
    else:
        ref = np.ones((xs[0], ws[0], 3, 3), np.float32)
    assert tuple(out.shape) == ref.shape
    np.testing.assert_array_equal(out.numpy(), ref)
    out.sum().backward()
    assert x.grad.shape == x.shape and w.grad.shape == w.shape and b.grad.shape == b.shape


def test_fused_conv_second_order_when_one_input_depends_on_another():
    """conv2d(s * 2, s): with create_graph the fused node's replay must not count the path through x twice."""
    s0 = np.random.default_rng(5).standard_normal((1, 1, 3, 3))
    s, ts = tg.tensor(s0, requires_grad=True), torch.tensor(s0, requires_grad=True)
    (g,) = tg.autograd.grad(tg.nn.functional.conv2d(s * 2, s, padding=1).sum(), s, create_graph=True)
    (tgrad,) = torch.autograd.grad(torch.nn.functional.conv2d(ts * 2, ts, padding=1).sum(), ts, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), tgrad.detach().numpy(), rtol=1e-10)
    (g * g).sum().backward()
    (tgrad * tgrad).sum().backward()
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy(), rtol=1e-9)
