"""Eager ops on the C kernels (backends/c/eager.py) against the numpy reference.

Every primitive that has a C eager impl runs each of its sample cases (tests/primitives/samples.py: 0-d, vectors,
matrices, empty, integer and bool operands) and the same cases in float32 and broadcast, strided, float16 and
mixed layouts, through the kernel where it applies and through numpy where it does not; results must equal
numpy's in dtype and shape, and in value exactly for arithmetic or to a few ulp for the vectorised transcendentals
(vmath.py: at most 2 ulp). The front-end op suites are rerun on C by tests/ops/test_on_c.py and
tests/primitives/test_rules_on_c.py.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.backends import base
from tapegrad.backends.c import compiler, eager, scalar
from tapegrad.primitives import PRIMITIVES

from tests.primitives.samples import SAMPLES

pytestmark = pytest.mark.usefixtures("eager_on_c")

C_PRIMS = sorted(eager.impls(base.get("numpy").eager_impls()))
# ulp-level differences from numpy allowed for these (vmath.py's polynomials, or libm where numpy has its own)
APPROX = eager.COSTLY | {"div", "sqrt"}
# sums of terms of opposite signs: gelu' = Phi(x) + x phi(x) crosses 0 at x = -0.75, where an ulp of either term (the
# kernel's erf and exp against scipy's and numpy's) is a large relative error of the result
CANCELLING = {"gelu_backward"}


def _close(got, want, name):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (name, got.dtype, want.dtype)
    assert got.shape == want.shape, (name, got.shape, want.shape)
    if want.dtype.kind != "f" or name.split()[0] not in APPROX:
        np.testing.assert_array_equal(got, want, err_msg=name)
        return
    rtol = {2: 4e-3, 4: 4e-6, 8: 4e-15}[want.dtype.itemsize]
    tiny = np.finfo(want.dtype).tiny * 16
    if name.split()[0] in CANCELLING and want.size:  # an ulp of the terms, not of their sum, near a zero crossing
        tiny = rtol * np.max(np.abs(want[np.isfinite(want)]), initial=0.0)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=tiny, equal_nan=True, err_msg=name)


def _key(name, args, params):
    out = params["dtype"].np if name == "cast" else bool if name in eager.TO_BOOL else args[-1].dtype
    chosen = ((scalar.BY_PARAM[name][0], params[scalar.BY_PARAM[name][0]]),) if name in scalar.BY_PARAM else ()
    return (name, tuple(a.dtype.name for a in args), np.dtype(out).name, chosen)


def _cases():
    out = []
    for name in C_PRIMS:
        for i, case in enumerate(SAMPLES[name](np.random.default_rng(zlib.crc32(name.encode())))):
            out.append(pytest.param(name, case, id=f"{name}-{i}-{case!r}"))
    return out


@pytest.mark.parametrize("name, case", _cases())
def test_samples_match_numpy(name, case):
    prim = PRIMITIVES[name]
    args = [np.asarray(a) for a in case.args]
    _close(prim.impl(*args, **case.params), prim.impl.reference(*args, **case.params), name)
    key = _key(name, args, case.params)
    runs_on_c = name in eager.REDUCTIONS or eager._accepts(name, key[1]) and key[2] in eager.CTYPES
    if name in eager.MOVES:  # one move kernel per float dtype serves reshape and fold (when they copy or add)
        d = args[0].dtype.name
        runs_on_c, key = d in eager.FLOATS and (name == "fold" or not args[0].flags.c_contiguous), ("move", (d,), d, ())
    if name == "tile_argmax":  # float inputs from LIMITS["pool"] elements (test_tile_argmax_kernel_matches_numpy)
        d = args[0].dtype.name
        runs_on_c, key = d in eager.FLOATS and args[0].size >= eager.LIMITS["pool"], (name, (d,), "int64", ())
    if runs_on_c and (name not in eager.REDUCTIONS or args[0].dtype.name in eager.FLOATS):
        assert eager._state.get(key) == "done", f"{key} did not run on a C kernel"
    # the same values in float32, as one long row (both kernel layouts see them)
    f32 = [a.astype(np.float32) if a.dtype == np.float64 else a for a in args]
    _close(prim.impl(*f32, **case.params), prim.impl.reference(*f32, **case.params), name)


UNARY = [n for n in C_PRIMS if PRIMITIVES[n].family == "unary" and n not in ("cast",) and n not in eager.NOT_FLOAT]
BINARY = [n for n in C_PRIMS if PRIMITIVES[n].family == "binary" and n not in eager.NOT_FLOAT]


def _draw(rng, shape, dtype="float32"):
    return (rng.uniform(0.1, 2.0, shape) * rng.choice([-1, 1], shape)).astype(dtype)


@pytest.mark.parametrize("name", BINARY)
def test_binary_broadcast_and_strided_layouts(name):
    """A 0-d operand either side, row and column broadcasts, expanded (stride-0) views, sliced rows, a transposed
    operand and negative strides: a kernel where the layout reduces to rows, numpy for the rest."""
    rng = np.random.default_rng(0)
    prim = PRIMITIVES[name]
    big = _draw(rng, (64, 40))
    if name in ("pow", "fmod", "remainder", "logaddexp", "atan2"):
        big = np.abs(big)
    layouts = {
        "0-d right": (big, np.array(1.5, np.float32)),
        "0-d left": (np.array(0.75, np.float32), big),
        "row": (big, _draw(rng, (40,))),
        "column": (big, _draw(rng, (64, 1))),
        "expanded": (big, np.broadcast_to(_draw(rng, (1, 40)), (64, 40))),
        "sliced rows": (big[::2], _draw(rng, (64, 80))[::2, ::2]),
        "slice of columns": (big[:, 3:33], _draw(rng, (64, 30))),
        "transposed": (big.T, _draw(rng, (40, 64))),
        "reversed": (big[::-1], big),
        "3-d broadcast": (_draw(rng, (4, 5, 6)), _draw(rng, (4, 1, 6))),
    }
    for label, args in layouts.items():
        for params in scalar.template_params(name):  # each template of gelu_backward
            _close(prim.impl(*args, **params), prim.impl.reference(*args, **params), f"{name} {label} {params}")


@pytest.mark.parametrize("name", UNARY)
def test_unary_strided_and_half(name):
    rng = np.random.default_rng(1)
    prim = PRIMITIVES[name]
    x = np.abs(_draw(rng, (50, 60))) * (0.5 if name in ("asin", "acos", "atanh", "erf") else 1) + \
        (1.0 if name == "acosh" else 0.0)
    for label, a in {"contiguous": x, "sliced": x[::3], "transposed": x.T, "reversed": x[:, ::-1],
                     "float64": x.astype(np.float64), "float16 (numpy)": x.astype(np.float16)}.items():
        for params in scalar.template_params(name):  # each template of gelu
            _close(prim.impl(a, **params), prim.impl.reference(a, **params), f"{name} {label} {params}")


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool", "uint8", "float16"])
@pytest.mark.parametrize("name", ["add", "mul", "maximum", "eq", "lt", "bitwise_and", "bitwise_xor", "neg", "abs",
                                  "sign", "bitwise_not"])
def test_integer_bool_and_half_operands(name, dtype):
    """Integers wrap as in numpy; bool arithmetic (logical in numpy) and uint8 / float16 stay on numpy."""
    prim = PRIMITIVES[name]
    rng = np.random.default_rng(2)
    if dtype == "bool":
        x, y = rng.random((30, 7)) > 0.5, rng.random((30, 7)) > 0.5
    elif dtype == "float16":
        x, y = _draw(rng, (30, 7), dtype), _draw(rng, (30, 7), dtype)
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, (30, 7), dtype=dtype, endpoint=True)
        y = rng.integers(info.min, info.max, (30, 7), dtype=dtype, endpoint=True)
    if name.startswith("bitwise") and dtype == "float16":
        return
    if name in ("neg", "sign") and dtype == "bool":
        return  # numpy refuses it, and so does the front end
    args = (x,) if prim.family == "unary" else (x, y)
    with np.errstate(all="ignore"):
        want = prim.impl.reference(*args)
        got = prim.impl(*args)
    _close(got, want, f"{name} {dtype}")


def test_where_and_cast():
    rng = np.random.default_rng(3)
    c = rng.random((20, 30)) > 0.5
    a, b = _draw(rng, (20, 30)), _draw(rng, (30,))
    where = PRIMITIVES["where"]
    for args in [(c, a, b), (c, np.array(0.0, np.float32), a), (c[0], a, b), (c, a.astype(np.int64), b.astype(np.int64))]:
        _close(where.impl(*args), where.impl.reference(*args), "where")
    cast = PRIMITIVES["cast"]
    x = np.concatenate([_draw(rng, (100,)) * 1000, [np.nan, np.inf, -0.0, 0.0]]).astype(np.float32)
    for src in (x, x[:100].astype(np.int64), x > 0):
        for to in (tg.float32, tg.float64, tg.int32, tg.int64, tg.bool, tg.float16):
            if src.dtype.kind == "f" and to.name.startswith("int"):
                src = src[:100]  # NaN / inf to int is undefined in C and platform-defined in numpy
            _close(cast.impl(src, dtype=to), cast.impl.reference(src, dtype=to), f"cast {src.dtype}->{to.name}")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "float16"])
@pytest.mark.parametrize("name", ["sum", "amax"])
def test_reductions_over_axes(name, dtype):
    rng = np.random.default_rng(4)
    prim = PRIMITIVES[name]
    x = (rng.standard_normal((6, 1, 35, 20)) * 10).astype(dtype)
    for axes in [(), (0,), (1,), (2,), (3,), (2, 3), (0, 1), (0, 1, 2, 3), (0, 2), (1, 2)]:
        for keepdim in (False, True):
            got = prim.impl(x, axes=axes, keepdim=keepdim)
            want = prim.impl.reference(x, axes=axes, keepdim=keepdim)
            if name == "sum" and x.dtype.kind == "f":  # C adds in double, numpy pairwise in the input dtype
                got, want = np.asarray(got), np.asarray(want)
                assert got.dtype == want.dtype and got.shape == want.shape
                tol = {"float16": 1e-2, "float32": 1e-5, "float64": 1e-13}[dtype]
                np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(x).sum(axis=axes or None).max())
            else:
                _close(got, want, f"{name} {axes}")
    # non-contiguous input: numpy
    _close(prim.impl(x[::2], axes=(0,), keepdim=False), prim.impl.reference(x[::2], axes=(0,), keepdim=False), name)


def test_amax_propagates_nan_and_empty_raises():
    x = np.arange(40, dtype=np.float32).reshape(4, 10)
    x[2, 3] = np.nan
    amax = PRIMITIVES["amax"]
    for axes in [(0,), (1,), (0, 1)]:
        _close(amax.impl(x, axes=axes, keepdim=False), amax.impl.reference(x, axes=axes, keepdim=False), "amax")
    with pytest.raises(ValueError, match="empty"):
        amax.impl(np.zeros((0, 3), np.float32), axes=(0,), keepdim=False)


def test_split_across_cores_gives_the_same_results(monkeypatch):
    """The parallel paths (a flat loop in slices, rows across threads, a long row in fixed chunks) against numpy,
    and against the one-thread result bit for bit (chunks are fixed, so the thread count does not matter)."""
    rng = np.random.default_rng(5)
    x, y = _draw(rng, (3, 100_002)), _draw(rng, (100_002,))
    cases = [("tanh", (x,), {}), ("add", (x, y), {}), ("mul", (x, np.array(2.0, np.float32)), {}),
             ("sum", (x,), {"axes": (1,), "keepdim": False}), ("sum", (x,), {"axes": (0, 1), "keepdim": False}),
             ("amax", (x,), {"axes": (0,), "keepdim": True}), ("sum", (x.reshape(-1, 7),), {"axes": (0,), "keepdim": False})]
    one = {i: PRIMITIVES[n].impl(*a, **p) for i, (n, a, p) in enumerate(cases)}
    for family in eager.PARALLEL:
        monkeypatch.setitem(eager.PARALLEL, family, 0)
    for i, (name, args, params) in enumerate(cases):
        got = PRIMITIVES[name].impl(*args, **params)
        np.testing.assert_array_equal(got, one[i], err_msg=name)
        want = PRIMITIVES[name].impl.reference(*args, **params)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3, err_msg=name)


def test_front_end_ops_and_gradients_on_c():
    """A composite (softmax, gelu) with its gradient: C kernels and numpy agree."""
    rng = np.random.default_rng(6)
    x0 = rng.standard_normal((16, 50)).astype(np.float32)

    def run():
        x = tg.tensor(x0).requires_grad_()
        y = (tg.nn.functional.gelu(x, approximate="tanh") * tg.softmax(x, dim=-1)).sum()
        (g,) = tg.autograd.grad(y, x)
        return y.numpy(), g.numpy()

    on_c = run()
    base.install_eager("numpy")
    on_numpy = run()
    np.testing.assert_allclose(on_c[0], on_numpy[0], rtol=1e-5)
    np.testing.assert_allclose(on_c[1], on_numpy[1], rtol=1e-4, atol=1e-6)


def _fresh(name):
    """A new C eager impl of primitive `name`: no kernel loaded yet (the installed one keeps what it loaded)."""
    return eager._elementwise(PRIMITIVES[name], base.get("numpy").eager_impls()[name])


def test_no_compiler_warns_once_and_runs_numpy(monkeypatch):
    monkeypatch.setenv("TAPEGRAD_CC", "/nonexistent/tapegrad-test-cc")
    monkeypatch.setattr(eager, "_state", {})
    monkeypatch.setattr(eager, "_disabled", False)
    monkeypatch.setattr(eager, "_warned_cc", False)
    monkeypatch.setattr(eager, "_news", [])
    x = np.linspace(0.1, 2, 5000, dtype=np.float64).reshape(50, 100)
    with pytest.warns(compiler.CompilerMissingWarning, match="eager ops run on numpy"):
        np.testing.assert_array_equal(_fresh("log1p")(x), np.log1p(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(_fresh("expm1")(x), np.expm1(x))
    assert eager._disabled


def test_eager_backend_choice(monkeypatch):
    monkeypatch.delenv("TAPEGRAD_BACKEND", raising=False)
    monkeypatch.delenv("TAPEGRAD_EAGER_BACKEND", raising=False)
    assert base.eager_backend() == "c"
    monkeypatch.setenv("TAPEGRAD_BACKEND", "numpy")
    assert base.eager_backend() == "numpy"
    monkeypatch.setenv("TAPEGRAD_EAGER_BACKEND", "C")
    assert base.eager_backend() == "c"
    monkeypatch.setenv("TAPEGRAD_EAGER_BACKEND", "cuda-ish")
    with pytest.raises(tg.errors.BackendError, match="TAPEGRAD_EAGER_BACKEND.*numpy, c"):
        base.eager_backend()


def test_background_build_leaves_numpy_running(monkeypatch, tmp_path):
    """Without SYNC the first large call returns numpy's result at once and the kernel arrives later."""
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(tmp_path))  # an empty cache: the build takes gcc's time
    monkeypatch.setattr(eager, "SYNC", False)
    monkeypatch.setattr(eager, "_state", {})
    x = np.linspace(-3, 3, 4096, dtype=np.float64)
    atan = _fresh("atan")
    np.testing.assert_array_equal(atan(x), np.arctan(x))  # numpy's: the kernel is not there yet
    eager.wait()
    assert eager._state[("atan", ("float64",), "float64", ())] == "done"
    _close(atan(x), np.arctan(x), "atan")


def _windows(x, kernel, stride, dilation):
    return base.get("numpy").eager_impls()["unfold"](x, kernel=kernel, stride=stride, dilation=dilation)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_move_reshape_copies_strided_views(dtype):
    """A reshape that must copy (windows permuted to conv's GEMM layout, a reversed slice, a transpose) equals
    numpy's copy exactly; one that numpy makes a view stays a view."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4, 9, 8)).astype(dtype)
    win = _windows(x, (3, 2), (1, 2), (2, 1))
    views = [win.transpose(1, 4, 5, 0, 2, 3), x[:, ::-1, 1:, ::2].transpose(0, 2, 1, 3), x.transpose(3, 1, 0, 2)]
    reshape = PRIMITIVES["reshape"]
    for v in views:
        got = reshape.impl(v, shape=(-1, v.shape[-1]))
        np.testing.assert_array_equal(got, np.reshape(v, (-1, v.shape[-1])))
    flat = reshape.impl(x[1:], shape=(-1,))
    assert np.shares_memory(flat, x)


@pytest.mark.parametrize("layout", ["contiguous", "gemm", "reversed"])
@pytest.mark.parametrize("geometry", [((3, 3), (1, 1), (1, 1)), ((3, 2), (2, 3), (2, 1)), ((2,), (1,), (3,))])
def test_move_fold_matches_numpy(layout, geometry):
    """Fold (col2im) on the kernel equals numpy's bit for bit, for windows in every layout the eager conv makes (the
    backward's GEMM layout, channels and kernel offsets outermost), overlapping, strided and dilated, 1-d and 2-d."""
    kernel, stride, dilation = geometry
    rng = np.random.default_rng(8)
    size = (11, 13)[: len(kernel)]
    x = rng.standard_normal((2, 3) + size)
    shape = _windows(x, kernel, stride, dilation).shape
    nd = len(kernel)
    if layout == "gemm":  # stored (C, *K, N, *O), seen as (N, C, *O, *K)
        perm = (1,) + tuple(range(2 + nd, 2 + 2 * nd)) + (0,) + tuple(range(2, 2 + nd))
        cols = rng.standard_normal(tuple(shape[p] for p in perm)).transpose(np.argsort(perm))
    elif layout == "reversed":
        cols = rng.standard_normal(shape)[:, ::-1]
    else:
        cols = rng.standard_normal(shape)
    params = dict(size=size, kernel=kernel, stride=stride, dilation=dilation)
    want = PRIMITIVES["fold"].impl.reference(cols, **params)
    got = PRIMITIVES["fold"].impl(cols, **params)
    np.testing.assert_array_equal(got, want)  # the same additions in the same order
    c32 = cols.astype(np.float32)
    np.testing.assert_array_equal(PRIMITIVES["fold"].impl(c32, **params), PRIMITIVES["fold"].impl.reference(c32, **params))


def test_move_split_across_cores_gives_the_same_results(monkeypatch):
    """The threaded move (the first loop split) equals the one-thread result bit for bit: a copy, and a fold whose
    outer loop is the channels (split) or a window dim (not split: its windows overlap)."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 6, 20, 20)).astype(np.float32)
    v = _windows(x, (3, 3), (1, 1), (1, 1)).transpose(1, 4, 5, 0, 2, 3)
    params = dict(size=(20, 20), kernel=(3, 3), stride=(1, 1), dilation=(1, 1))
    g = rng.standard_normal((6, 3, 3, 4, 18, 18)).astype(np.float32)
    cases = [("reshape", v, {"shape": (54, -1)}), ("fold", g.transpose(3, 0, 4, 5, 1, 2), params),
             ("fold", g.transpose(1, 2, 0, 3, 4, 5).copy().transpose(3, 2, 4, 5, 0, 1), params)]
    one = [PRIMITIVES[n].impl(a, **p) for n, a, p in cases]
    monkeypatch.setitem(eager.PARALLEL, "move", 0)
    for (name, a, p), want in zip(cases, one):
        np.testing.assert_array_equal(PRIMITIVES[name].impl(a, **p), want, err_msg=name)


def _first_max_index(x, kernel):
    """tile_argmax by its definition: numpy's argmax over each tile's elements in scan order, as a flat index."""
    nd = len(kernel)
    outs = tuple(n // k for n, k in zip(x.shape[2:], kernel))
    tiles = x[(slice(None), slice(None)) + tuple(slice(0, o * k) for o, k in zip(outs, kernel))]
    tiles = tiles.reshape(x.shape[:2] + tuple(d for ok in zip(outs, kernel) for d in ok))
    perm = (0, 1) + tuple(range(2, 2 + 2 * nd, 2)) + tuple(range(3, 3 + 2 * nd, 2))
    arg = np.argmax(tiles.transpose(perm).reshape(x.shape[:2] + outs + (-1,)), axis=-1)
    pos = np.unravel_index(arg, kernel)
    grid = np.meshgrid(*(np.arange(n) for n in x.shape[:2] + outs), indexing="ij")
    at = list(grid[:2]) + [g * k + p for g, k, p in zip(grid[2:], kernel, pos)]
    return np.ravel_multi_index(at, x.shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel", [((3, 5, 26, 27), (2, 2)), ((2, 4, 999), (3,)),
                                           ((2, 3, 9, 10, 11), (2, 3, 2)),
                                           ((1, 2, 70, 90), (1, 1)), ((2, 2, 40, 200), (3, 5))])
def test_tile_argmax_kernel_matches_numpy(dtype, shape, kernel, monkeypatch):
    """Max pooling's index on the C kernel: the first maximum of each tile in scan order, ties (ReLU's zeros), -0.0
    against 0.0, infinities, a NaN (it wins, the first one), a remainder left out (floor mode), a strided input;
    the same with the planes split across threads and on numpy's knockout."""
    rng = np.random.default_rng(11)
    x = np.maximum(rng.standard_normal(shape), 0).astype(dtype)
    flat = x.reshape(-1)
    flat[rng.integers(0, flat.size, 40)] = np.nan
    flat[rng.integers(0, flat.size, 40)] = -np.inf
    flat[rng.integers(0, flat.size, 40)] = np.inf
    flat[rng.integers(0, flat.size, 40)] = -0.0
    assert x.size >= eager.LIMITS["pool"]
    impl = PRIMITIVES["tile_argmax"].impl
    want = _first_max_index(x, kernel)
    got = impl(x, kernel=kernel)
    assert got.dtype == np.int64 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(impl.reference(x, kernel=kernel), want)
    strided = np.ascontiguousarray(np.swapaxes(x, 0, 1)).swapaxes(0, 1)  # the same values in another layout
    np.testing.assert_array_equal(impl(strided, kernel=kernel), want)
    monkeypatch.setitem(eager.PARALLEL, "pool", 0)
    np.testing.assert_array_equal(impl(x, kernel=kernel), want)
