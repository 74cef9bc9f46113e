"""Convolution and pooling on the C backend: the library kernels of backends/c/lower.py (window gathers,
fold, argmax, take / scatter along an axis) against the numpy plan and eager, forward and backward."""

import itertools

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.backends.c import compiler
from tapegrad.backends.c import lower as library
from tapegrad.backends.c.plan import CPlan, KernelStep
from tapegrad.backends.executor import CallStep

HAVE_CC = compiler.shutil.which("cc") is not None
pytestmark = pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
TOL = {np.float32: {"rtol": 2e-4, "atol": 2e-5}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}


@pytest.fixture(autouse=True)
def _cache(monkeypatch, c_cache):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(c_cache))


def _arrays(shapes, dtype, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal(s).astype(dtype) for s in shapes]


def _value_and_grads(fn, arrays, backend):
    """fn's value and the gradients of sum(value * fixed weights) w.r.t. every input: eager (backend None) or
    traced on backend."""
    xs = [tg.tensor(a, requires_grad=True) for a in arrays]
    f = fn if backend is None else tg.jit(fn, backend=backend)
    out = f(*xs)
    weights = tg.tensor(np.random.default_rng(1).standard_normal(out.shape).astype(arrays[0].dtype))
    (out * weights).sum().backward()
    return [out.numpy()] + [x.grad.numpy() for x in xs]


def _check(fn, arrays):
    tol = TOL[arrays[0].dtype.type]
    eager = _value_and_grads(fn, arrays, None)
    for backend in ("numpy", "c"):
        for got, want in zip(_value_and_grads(fn, arrays, backend), eager):
            np.testing.assert_allclose(got, want, **tol, err_msg=backend)


CONV2D = [  # (stride, padding, dilation, groups, c_in, c_out, kernel)
    (1, 0, 1, 1, 3, 4, (3, 3)),
    (2, 1, 1, 1, 2, 3, (3, 3)),
    (1, 2, 2, 1, 2, 2, (3, 2)),
    ((2, 1), (1, 0), (1, 2), 2, 4, 6, (2, 3)),
    (1, "same", 1, 4, 4, 4, (3, 3)),  # depthwise
    (3, 1, 1, 1, 1, 5, (1, 1)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride,padding,dilation,groups,c_in,c_out,kernel", CONV2D)
def test_conv2d_forward_and_backward(dtype, stride, padding, dilation, groups, c_in, c_out, kernel):
    x, w, b = _arrays([(2, c_in, 9, 8), (c_out, c_in // groups) + kernel, (c_out,)], dtype)
    _check(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups),
           [x, w, b])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv1d_conv3d_and_transposed(dtype):
    x1, w1 = _arrays([(2, 4, 11), (6, 2, 3)], dtype)
    _check(lambda x, w: F.conv1d(x, w, stride=2, padding=1, groups=2), [x1, w1])
    x3, w3 = _arrays([(1, 2, 5, 6, 4), (3, 2, 2, 3, 2)], dtype)
    _check(lambda x, w: F.conv3d(x, w, padding=(1, 0, 1), dilation=(1, 2, 1)), [x3, w3])
    xt, wt = _arrays([(2, 4, 5, 5), (4, 3, 3, 3)], dtype)  # conv_transpose's forward is a fold
    _check(lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1), [xt, wt])


POOL = [  # (kernel, stride, padding, dilation, ceil_mode)
    (2, None, 0, 1, False),
    (3, 2, 1, 1, False),
    (3, 2, 1, 1, True),
    ((2, 3), (1, 2), (1, 1), (2, 1), False),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", POOL)
def test_max_pool2d_forward_and_backward(dtype, kernel, stride, padding, dilation, ceil_mode):
    (x,) = _arrays([(2, 3, 9, 10)], dtype)
    _check(lambda x: F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode), [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_ties_indices_and_avg_pool(dtype):
    x = np.repeat(np.repeat(np.arange(16, dtype=dtype).reshape(1, 1, 4, 4), 2, 2), 2, 3)  # 2x2 ties
    _check(lambda x: F.max_pool2d(x, 3, 1, 1), [x])  # the gradient goes to the first maximum, as in PyTorch
    (y,) = _arrays([(2, 2, 7, 7)], dtype)
    for backend in ("numpy", "c"):
        out, idx = tg.jit(lambda y: F.max_pool2d(y, 2, return_indices=True), backend=backend)(tg.tensor(y))
        want_out, want_idx = F.max_pool2d(tg.tensor(y), 2, return_indices=True)
        np.testing.assert_array_equal(idx.numpy(), want_idx.numpy())
        np.testing.assert_array_equal(out.numpy(), want_out.numpy())
    _check(lambda y: F.avg_pool2d(y, 3, 2, 1, count_include_pad=False), [y])
    _check(lambda y: F.max_pool1d(y.reshape(2, 2, 49), 4, 3), [y])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_max_pool_pads_with_the_lowest_integer(dtype):
    x = np.random.default_rng(4).integers(-50, 50, (2, 3, 7, 7)).astype(dtype)
    x[0, 0, 0, 0] = np.iinfo(dtype).min  # a window that holds the padding value itself
    want = F.max_pool2d(tg.tensor(x), 3, 2, 1).numpy()
    got = tg.jit(lambda t: F.max_pool2d(t, 3, 2, 1), backend="c")(tg.tensor(x)).numpy()
    np.testing.assert_array_equal(got, want)


def test_argmax_takes_the_first_nan_and_the_first_maximum():
    x = np.array([[1.0, 3.0, 3.0, 2.0], [1.0, np.nan, 5.0, np.nan], [-np.inf, -np.inf, -np.inf, -np.inf]],
                 np.float32)
    for axis in (0, 1, -1):
        got = tg.jit(lambda t, a: t.argmax(a), backend="c", static_argnums=1)(tg.tensor(x), axis).numpy()
        np.testing.assert_array_equal(got, np.argmax(x, axis))
        got = tg.jit(lambda t, a: t.argmin(a, keepdim=True), backend="c", static_argnums=1)(tg.tensor(x), axis)
        np.testing.assert_array_equal(got.numpy(), np.argmin(x, axis, keepdims=True))


def test_gather_and_scatter_along_an_axis():
    r = np.random.default_rng(2)
    x = r.standard_normal((4, 5, 6)).astype(np.float32)
    idx = r.integers(-5, 5, (4, 3, 6))  # negative indices count from the end, as in numpy
    src = r.standard_normal((4, 3, 6)).astype(np.float32)

    def fn(x, i, s):
        return x.gather(1, i % 5) * 2 + x.scatter_add(1, i % 5, s).sum(1, keepdim=True)

    want = fn(tg.tensor(x), tg.tensor(idx), tg.tensor(src)).numpy()
    got = tg.jit(fn, backend="c")(tg.tensor(x), tg.tensor(idx), tg.tensor(src)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    g = tg.jit(lambda x, i: x.gather(1, i), backend="c")
    np.testing.assert_array_equal(g(tg.tensor(x), tg.tensor(idx)).numpy(),
                                  np.take_along_axis(x, np.where(idx < 0, idx + 5, idx), 1))


def test_out_of_range_index_raises_index_error_like_numpy():
    x = tg.tensor(np.zeros((3, 4), np.float32))
    bad = tg.tensor(np.array([[0], [4], [1]]))
    for backend in ("numpy", "c"):
        with pytest.raises(IndexError, match="out of bounds"):
            tg.jit(lambda x, i: x.gather(1, i), backend=backend)(x, bad)


def _plan(fn, *arrays):
    return tg.jit(fn, backend="c").get_concrete_function(*(tg.tensor(a) for a in arrays)).plan()


def test_conv_step_runs_library_kernels_over_plan_buffers():
    """A conv + max-pool training step: the window copies, fold, argmax and the per-window gather / scatter
    are C kernels (no numpy step left for them), their buffers are allocated once, and a second call gives
    the same numbers (no buffer is read after it is reused)."""
    x, w = _arrays([(4, 2, 10, 10), (3, 2, 3, 3)], np.float32)

    def step(x, w):
        x, w = x.detach().requires_grad_(True), w.detach().requires_grad_(True)
        loss = F.max_pool2d(F.relu(F.conv2d(x, w, padding=1)), 2).square().mean()
        return (loss, *tg.autograd.grad(loss, [x, w]))

    plan = _plan(step, x, w)
    assert isinstance(plan, CPlan)
    kinds = [s.name for s in plan.steps if isinstance(s, KernelStep)]  # their fused / covered primitives
    numpy_steps = [s.name for s in plan.steps if isinstance(s, CallStep)]
    assert not {"unfold", "fold", "argmax", "index", "index_put", "pad"} & set(numpy_steps), numpy_steps
    # im2col, padding included, into the GEMM layout (C*K, N*P): channels and kernel offsets major
    assert "gather (pad unfold permute reshape)" in plan.source
    assert "fold (reshape permute fold)" in plan.source  # col2im straight from the matmul's output
    # max pooling reads its windows in place (no copy of them), and its backward scatters into the fold's output
    assert "argmax (unfold argmax)" in plan.source and "take (unfold index)" in plan.source
    assert "scatter_fold (reshape index_put reshape fold)" in plan.source
    assert not any(k.endswith("unfold reshape") for k in kinds), kinds
    f = tg.jit(step, backend="c")
    first = [t.numpy().copy() for t in f(tg.tensor(x), tg.tensor(w))]
    second = [t.numpy() for t in f(tg.tensor(x), tg.tensor(w))]
    want = [t.numpy() for t in step(tg.tensor(x), tg.tensor(w))]
    for a, b, c in zip(first, second, want):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-6)


def test_non_contiguous_views_read_by_kernels_become_gathers():
    """A fused kernel reading a transposed or sliced view gets it from a C gather into a plan buffer (the plan
    would otherwise copy it with numpy on every call)."""
    (x,) = _arrays([(6, 8)], np.float32)
    def fn(x):
        return (x.T[1:7:2] * 2 + 1).exp()

    plan = _plan(fn, x)
    assert any(isinstance(s, KernelStep) and s.name == "permute slice" for s in plan.steps)
    np.testing.assert_allclose(tg.jit(fn, backend="c")(tg.tensor(x)).numpy(), fn(tg.tensor(x)).numpy(), rtol=1e-6)


def test_matmul_operand_that_blas_cannot_take_is_gathered_first():
    """x[:, ::2] has no unit stride: numpy's matmul would run its own slow loop on it, so the plan copies it
    into a buffer with a C gather and BLAS multiplies that; a transposed operand goes to BLAS as it is."""
    x, w = _arrays([(40, 60), (30, 20)], np.float32)

    def fn(x, w):
        return x[:, ::2] @ w, x.T[:30] @ x[:, :20]

    plan = _plan(fn, x, w)
    kernels = [s.name for s in plan.steps if isinstance(s, KernelStep)]
    assert kernels == ["slice"], kernels  # the strided slice is gathered; the transposed slice is not
    for got, want in zip(tg.jit(fn, backend="c")(tg.tensor(x), tg.tensor(w)), fn(tg.tensor(x), tg.tensor(w))):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def _numpy_view(v: library.View, base: np.ndarray):
    """The view read element by element from base with its affine map (the reference for View)."""
    out = np.empty(v.shape, base.dtype)
    flat = base.reshape(-1)
    for i in itertools.product(*(range(n) for n in v.shape)):
        at = [o + sum(k * c[j] for k, c in zip(i, v.coef)) for j, o in enumerate(v.offset)]
        inside = all(0 <= at[1 + j] < base.shape[b] for j, b in enumerate(v.padded))
        out[i] = flat[at[0]] if inside else v.fill
    return out


def test_view_chains_match_numpy():
    """Views built from chains of permute / slice / expand / unfold / reshape read the same elements as numpy,
    and a reshape is a view exactly when numpy's reshape of that view shares memory."""
    from tapegrad.primitives.base import AVal
    from tapegrad.trace.ir import Var

    r = np.random.default_rng(3)
    a = r.standard_normal((2, 3, 4, 5)).astype(np.float32)
    base = Var(AVal(a.shape, tg.float32))
    cases = [
        (lambda v: library._permute(v, (2, 0, 3, 1)), lambda x: x.transpose(2, 0, 3, 1)),
        (lambda v: library._slice(v, ((1, 2, 1), (2, -1, -1), (0, 4, 2), (4, 0, -2))),
         lambda x: x[1:2, 2::-1, 0:4:2, 4:0:-2]),
        (lambda v: library._expand(library._reshape(v, (1, 2, 3, 4, 5)), (3, 2, 3, 4, 5)),
         lambda x: np.broadcast_to(x[None], (3, 2, 3, 4, 5))),
        (lambda v: library._unfold(v, (2, 3), (2, 1), (1, 1)),
         lambda x: np.lib.stride_tricks.sliding_window_view(x, (2, 3), axis=(2, 3))[:, :, ::2, :]),
    ]
    for make, ref in cases:
        np.testing.assert_array_equal(_numpy_view(make(library.identity(base)), a), ref(a))
    for perm in itertools.permutations(range(4)):
        v = library._permute(library.identity(base), perm)
        t = a.transpose(perm)
        for shape in [(t.shape[0] * t.shape[1], -1), (-1, t.shape[3]), (t.shape[0], 1, -1), (-1,)]:
            want = t.reshape(shape)
            got = library._reshape(v, want.shape)
            assert (got is not None) == np.shares_memory(want, a), (perm, shape)
            if got is not None:
                np.testing.assert_array_equal(_numpy_view(got, a), want)
    padded = library._pad(base, ((0, 0), (1, 2), (0, 0), (2, 0)), -7.0)
    np.testing.assert_array_equal(_numpy_view(padded, a), np.pad(a, ((0, 0), (1, 2), (0, 0), (2, 0)),
                                                                  constant_values=-7.0))
