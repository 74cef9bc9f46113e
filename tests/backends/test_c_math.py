"""The C backend's vectorisable math (backends/c/vmath.py): accuracy in ulp against numpy in higher precision
over dense sweeps, numpy's special values (NaN, +-inf, overflow, underflow, subnormals, -0.0), and that the
kernels' loops really vectorise."""

import subprocess

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.backends.c import compiler

HAVE_CC = compiler.shutil.which("cc") is not None
needs_cc = pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
EXTENDED = np.finfo(np.longdouble).nmant >= 63  # x86 long double: a float64 reference needs more than float64


@pytest.fixture(autouse=True)
def _cache(monkeypatch, c_cache):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(c_cache))


def _erf(x):
    special = pytest.importorskip("scipy.special")
    return special.erf(x.astype(np.float64))  # scipy has no long double erf; float64 is the libm case anyway


# name -> (reference in higher precision, interval where the function is interesting for a dense uniform sweep)
FUNCS = {
    "exp": (np.exp, (-110, 100)),
    "expm1": (np.expm1, (-25, 100)),
    "log": (np.log, (0, 10)),
    "log1p": (np.log1p, (-1, 10)),
    "tanh": (np.tanh, (-12, 12)),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), (-120, 40)),
    "sinh": (np.sinh, (-100, 100)),
    "cosh": (np.cosh, (-100, 100)),
    "erf": (_erf, (-5, 5)),
    "asinh": (np.arcsinh, (-10, 10)),
    "acosh": (np.arccosh, (0.5, 10)),
    "atanh": (np.arctanh, (-1.01, 1.01)),
}
# the largest error in ulp measured over 2^32 / 251 float32 bit patterns and 10M float64 values; float64 erf is
# libm's, and the reference there (scipy's erf) is itself up to 2 ulp off
MAX_ULP = {"float32": {"tanh": 2, "sigmoid": 2, "sinh": 2, "asinh": 2, "acosh": 2, "atanh": 2},
           "float64": {"expm1": 2, "tanh": 2, "sigmoid": 2, "sinh": 2, "asinh": 2, "acosh": 2, "atanh": 2, "erf": 3}}

# inputs at each function's edges: overflow and underflow thresholds, saturation, the poles of log
EDGES = {
    "float32": [88.72283, 88.72284, 89.0, -87.33654, -87.33655, -103.97207, -103.97208, 9.01, 9.02, 3.9192, 3.92,
                -0.99999994, -1.0000001, 0.99999994, 1.0000001, 89.41598, 89.416, 1e-30, -1e-30, 0.5, 2.0],
    "float64": [709.782712893384, 709.7827128933841, 710.0, -708.3964185322641, -708.3964185322642,
                -745.1332191019411, -745.1332191019412, 19.06, 19.07, 5.9, 5.93, -0.9999999999999999,
                -1.0000000000000002, 0.9999999999999999, 1.0000000000000002, 710.4758600739439, 710.476, 1e-300,
                -1e-300, 0.5, 2.0],
}


def _specials(dtype):
    info = np.finfo(dtype)
    tiny_sub = np.array([1], dtype=np.int32 if dtype == np.float32 else np.int64).view(dtype)[0]
    vals = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, info.max, -info.max, info.tiny, -info.tiny,
            tiny_sub, -tiny_sub, info.tiny - tiny_sub, -(info.tiny - tiny_sub), info.eps, -info.eps]
    return np.array(vals + EDGES[np.dtype(dtype).name], dtype=dtype)


def _sweep(dtype, interval, n=1 << 20):
    """Every bit-pattern class (a strided walk over all float32 patterns, random float64 patterns), a dense
    uniform sweep of the interesting interval, small numbers on a log scale, and the special values."""
    rng = np.random.default_rng(0)
    if dtype == np.float32:
        patterns = np.arange(0, 1 << 32, (1 << 32) // n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    else:
        patterns = rng.integers(0, 1 << 64, n, dtype=np.uint64, endpoint=False).view(np.float64)
    uniform = rng.uniform(*interval, n).astype(dtype)
    small = (np.exp(rng.uniform(-30, 0, n // 4)) * rng.choice([-1, 1], n // 4)).astype(dtype)
    return np.concatenate([patterns, uniform, small, _specials(dtype)])


def _ordered(a):
    """Bit patterns mapped to unsigned integers in the order of the values (adjacent floats differ by 1)."""
    u = a.view(np.uint32 if a.dtype == np.float32 else np.uint64)
    sign = np.array(1, dtype=u.dtype) << np.array(8 * a.itemsize - 1, dtype=u.dtype)
    return np.where(u & sign, ~u, u | sign)


def ulp_distance(got, want):
    a, b = _ordered(got), _ordered(want)
    return np.where(a > b, a - b, b - a)


def _compiled(name):
    return tg.jit(lambda t: getattr(t, name)(), backend="c")


def _reference(name, x):
    ref = FUNCS[name][0]
    with np.errstate(all="ignore"):
        if x.dtype == np.float32:
            return ref(x.astype(np.float64)).astype(np.float32)
        return ref(x.astype(np.longdouble)).astype(np.float64)


def check_against_reference(name, x, got, want, max_ulp):
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan, err_msg=f"{name}: NaN where numpy has none, or the reverse")
    g, w, xs = got[~nan], want[~nan], x[~nan]
    limit = np.isinf(w) | (w == 0)  # overflow, underflow, saturation and zeros must be exact, with their sign
    bad = limit & ((g != w) | (np.signbit(g) != np.signbit(w)))
    assert not bad.any(), f"{name}({xs[bad][:5]}) = {g[bad][:5]}, numpy says {w[bad][:5]}"
    err = ulp_distance(g, w)
    worst = int(np.argmax(err))
    assert err[worst] <= max_ulp, f"{name}({xs[worst]!r}) = {g[worst]!r}, numpy says {w[worst]!r}: {err[worst]} ulp"


@needs_cc
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(FUNCS))
def test_accuracy_in_ulp_and_special_values(name, dtype):
    if dtype == np.float64 and not EXTENDED and name != "erf":
        pytest.skip("the float64 reference needs numpy's long double to be wider than float64")
    x = _sweep(dtype, FUNCS[name][1])
    got = _compiled(name)(tg.tensor(x)).numpy()
    assert got.dtype == dtype
    max_ulp = MAX_ULP[np.dtype(dtype).name].get(name, 1)
    check_against_reference(name, x, got, _reference(name, x), max_ulp)


@needs_cc
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_limits_match_the_numpy_backend_exactly(dtype):
    """At the edges, against the numpy backend's same-dtype results: NaN where it has NaN, and its infinities
    and zeros (overflow, underflow, -0.0) bit for bit."""
    x = _specials(dtype)
    for name in sorted(FUNCS):
        got = _compiled(name)(tg.tensor(x)).numpy()
        want = tg.jit(lambda t, n=name: getattr(t, n)(), backend="numpy")(tg.tensor(x)).numpy()
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{name}: NaN at {x}")
        limit = np.isinf(want) | (want == 0)
        np.testing.assert_array_equal(got[limit], want[limit], err_msg=f"{name} at {x[limit]}")
        np.testing.assert_array_equal(np.signbit(got[limit]), np.signbit(want[limit]), err_msg=f"{name}: sign of 0")


def _vectorised_loops(source, tmp_path):
    """Lines gcc reports as vectorised loops when it compiles `source` with the backend's flags."""
    cc = compiler.compiler()
    path = tmp_path / "kernel.c"
    path.write_text(source)
    flags = [f for f in compiler.FLAGS if f != "-shared"] + compiler.OPENMP
    r = subprocess.run([cc, *flags, "-c", "-fopt-info-vec-optimized", str(path), "-o", str(tmp_path / "kernel.o")],
                       check=False, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return [line for line in r.stderr.splitlines() if "loop vectorized" in line]


def _is_gcc():
    if not HAVE_CC:
        return False
    out = subprocess.run([compiler.compiler(), "--version"], check=False, capture_output=True, text=True).stdout
    return "gcc" in out.lower() or "free software foundation" in out.lower()


needs_gcc = pytest.mark.skipif(not _is_gcc(), reason="-fopt-info-vec is gcc's vectoriser report")


@needs_gcc
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(FUNCS))
def test_kernel_loop_vectorises(name, dtype, tmp_path):
    if name == "erf" and dtype == np.float64:
        pytest.skip("float64 erf is libm's erf: a call per element")
    x = tg.tensor(np.random.default_rng(0).standard_normal(1 << 16).astype(dtype))
    fn = _compiled(name)
    fn(x)
    source = fn.get_concrete_function(x).plan().source
    assert f"tg_{name}" in source
    assert _vectorised_loops(source, tmp_path), f"gcc did not vectorise the {name} kernel:\n{source[-1500:]}"


@needs_gcc
def test_w3_kernels_vectorise(tmp_path):
    """sum(gelu_tanh(1.5x + 0.5) * sigmoid(x)): the forward (a reduction) and the backward (a map)."""

    def w3(x):
        return (tg.nn.functional.gelu(1.5 * x + 0.5, approximate="tanh") * x.sigmoid()).sum()

    def tanh_sum(x):  # gelu's tanh form is x sigmoid(2z) (its C template, scalar.py): tanh's vector math checked here
        return (x.tanh() * 1.5).sum()

    x = tg.tensor(np.random.default_rng(0).standard_normal(1 << 16).astype(np.float32))
    for f, math_fn in ((w3, "tg_sigmoidf("), (tanh_sum, "tg_tanhf(")):
        for fn in (tg.jit(f, backend="c"), tg.jit(tg.func.grad(f), backend="c")):
            fn(x)
            source = fn.get_concrete_function(x).plan().source
            assert math_fn in source.split("int k0")[1]
            assert _vectorised_loops(source, tmp_path), source.split("int k0")[1]


@needs_gcc
@pytest.mark.parametrize("key", [
    *[("gelu", ("float32",), "float32", (("approximate", a),)) for a in ("none", "tanh")],
    *[("gelu_backward", ("float32",) * 2, "float32", (("approximate", a),)) for a in ("none", "tanh")],
    ("gelu", ("float64",), "float64", (("approximate", "tanh"),)),  # double erf is libm's: not vectorised
    ("vjp:sigmoid", ("float32",) * 2, "float32", ()), ("vjp:tanh", ("float64",) * 2, "float64", ())])
def test_eager_gelu_and_backward_loops_vectorise(key, tmp_path):
    """The eager kernels of gelu, gelu_backward and the one-loop backward kernels (c/eager.py) vectorise: gcc reports
    more vectorised loops than in the same kernel around a libm call (erfc, atan2), where only the loops over
    operands that do not vary (a value stored n times) vectorise."""
    from tapegrad.backends.c import eager

    name, ins, out, _ = key
    libm = (("erfc",) if len(ins) == 1 else ("atan2",)) + (ins, out, ())
    baseline = len(_vectorised_loops(eager.source(libm), tmp_path))
    assert len(_vectorised_loops(eager.source(key), tmp_path)) > baseline, eager.source(key)[-3000:]
