"""Row kernels: reductions followed by elementwise work (softmax, log_softmax, layer norm, cross-entropy and their
gradients) fused into single kernels, on C against the numpy plan and eager, plus the fused structure itself."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.backends.c import compiler, render
from tapegrad.backends.c.plan import CPlan
from tapegrad.backends.c.fuse import COL, FULL, ROW, SCALAR, Kernel, fuse

F = tg.nn.functional
HAVE_CC = compiler.shutil.which("cc") is not None
needs_cc = pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
TOL = {np.float32: {"rtol": 2e-5, "atol": 2e-6}, np.float64: {"rtol": 1e-11, "atol": 1e-12}}


@pytest.fixture(autouse=True)
def _cache(monkeypatch, c_cache):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(c_cache))


def _arr(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _kernels(fn, *args):
    return [x for x in fuse(tg.jit(fn).lower(*args)) if isinstance(x, Kernel)]


def _items(fn, *args):
    return fuse(tg.jit(fn).lower(*args))


def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _check(fn, arrays, dtype, tol=None, eager=True):
    """fn traced on C matches fn traced on numpy (and eager), for every output; returns the C plan."""
    tol = tol or TOL[dtype]
    ts = [tg.tensor(a) for a in arrays]
    fc = tg.jit(fn, backend="c")
    got = _as_list(fc(*ts))
    want = _as_list(tg.jit(fn, backend="numpy")(*ts))
    refs = [want] + ([_as_list(fn(*ts))] if eager else [])
    for ref in refs:
        assert len(got) == len(ref)
        for g, w in zip(got, ref):
            np.testing.assert_allclose(g.numpy(), w.numpy(), equal_nan=True, **tol)
    plan = fc.get_concrete_function(*ts).plan()
    assert isinstance(plan, CPlan)
    return plan


def softmax(x):
    return F.softmax(x, -1)


def log_softmax(x):
    return F.log_softmax(x, -1)


def layer_norm(x, w, b):
    return F.layer_norm(x, x.shape[-1:], w, b)


# *** the fused structure ***


def test_softmax_over_64_by_1000_is_one_row_kernel():
    x = tg.zeros(64, 1000)
    (k,) = items = _items(softmax, x)
    assert isinstance(k, Kernel) and render.layout(k) == "rows" and k.rows() == (64, 1000)
    assert {"amax", "exp", "sum", "div"} <= set(k.prims)
    assert [v.shape for v in k.outputs] == [(64, 1000)]  # no row intermediate reaches memory
    assert len(items) == 1


def test_log_softmax_and_layer_norm_forward_are_one_kernel_each():
    x, w = tg.zeros(8, 33), tg.zeros(33)
    (k,) = _kernels(log_softmax, x)
    assert k.prims.count("sum") == 1 and "log" in k.prims and [v.shape for v in k.outputs] == [(8, 33)]
    items = _items(layer_norm, x, w, w)
    kernels = [x for x in items if isinstance(x, Kernel)]
    assert len(kernels) == 1 and kernels[0].prims.count("sum") == 2 and "sqrt" in kernels[0].prims
    # only the views of weight and bias stay outside (numpy reshapes / broadcasts, no copies)
    assert {e.prim.name for e in items if not isinstance(e, Kernel)} <= {"reshape", "expand"}


def test_backward_graphs_are_single_row_kernels():
    x, c = tg.zeros(16, 24), tg.zeros(16, 24)
    grad_softmax = tg.func.grad(lambda x, c: (softmax(x) * c).sum())
    grad_log_softmax = tg.func.grad(lambda x, c: (log_softmax(x) * c).sum())
    for fn in (grad_softmax, grad_log_softmax):
        (k,) = _kernels(fn, x, c)
        assert render.layout(k) == "rows" and [v.shape for v in k.outputs] == [(16, 24)]


def test_layer_norm_backward_with_weight_and_bias_gradients_is_one_kernel():
    x, c, w = tg.zeros(4, 3, 10), tg.zeros(4, 3, 10), tg.zeros(10)
    fn = tg.func.grad(lambda x, w, b, c: (layer_norm(x, w, b) * c).sum(), argnums=(0, 1, 2))
    (k,) = _kernels(fn, x, w, w, c)
    assert render.layout(k) == "rows" and k.split == 2 and k.rows() == (12, 10)
    kinds = sorted(k.kind[v.id] for v in k.outputs)
    assert kinds == sorted([FULL, COL, COL])  # dx, and the weight and bias gradients summed over (batch, time)
    assert sorted(v.shape for v in k.outputs) == [(4, 3, 10), (10,), (10,)]


def test_cross_entropy_with_probabilities_is_one_kernel_ending_in_its_mean():
    x, p = tg.zeros(8, 5), tg.ones(8, 5) / 5
    (k,) = _kernels(lambda x, p: F.cross_entropy(x, p), x, p)
    assert [(v.shape, k.kind[v.id]) for v in k.outputs] == [((), SCALAR)]


def test_prefix_reduction_alone_keeps_working():
    x, b = tg.zeros(128, 512), tg.zeros(512)
    (k,) = _kernels(lambda x, b: F.relu(x * 2 + b).sum(0), x, b)
    assert render.layout(k) == "rows" and [k.kind[v.id] for v in k.outputs] == [COL]
    (k,) = _kernels(lambda x: x.sum(0), tg.zeros(3, 100000))  # few long rows: blocks of columns
    assert render.layout(k) == "columns"


def test_an_outside_reader_in_the_middle_closes_the_kernel():
    # cumsum (a numpy call) reads exp(x - max) before the row sum: the kernel must close there and run first
    def fn(x):
        e = (x - x.amax(-1, keepdim=True)).exp()
        c = e.cumsum(-1)
        return e / e.sum(-1, keepdim=True) + c

    items = _items(fn, tg.zeros(6, 9))
    names = [x.prim.name if not isinstance(x, Kernel) else "kernel" for x in items]
    assert names.index("cumsum") > names.index("kernel")  # the producer runs before its reader
    first = items[names.index("kernel")]
    assert first.outputs and all(first.kind[v.id] == FULL for v in first.outputs)
    assert sum(isinstance(x, Kernel) for x in items) == 2


def test_row_values_feed_elementwise_work_between_loops():
    fn = tg.func.grad(lambda x, c: (log_softmax(x) * c).sum())
    (k,) = _kernels(fn, tg.zeros(4, 6), tg.zeros(4, 6))
    rows = {k.kind[e.outputs[0].id] for e in k.members if e.prim.name in ("div", "mul")}
    assert ROW in rows  # 1 / sum and the scaled row sum are computed once per row, not per element


# *** numbers: C against numpy and eager ***

SHAPES = [(64, 1000), (5, 7), (3, 4, 5), (6, 1), (1, 9), (2, 3, 1, 17), (2, 40000), (0, 4)]


@needs_cc
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_softmax_family_forward_and_backward(shape, dtype):
    rng = np.random.default_rng(1)
    x, c = _arr(rng, shape, dtype), _arr(rng, shape, dtype)
    for fn in (softmax, log_softmax):
        _check(fn, [x], dtype)
        _check(tg.func.grad(lambda x, c, fn=fn: (fn(x) * c).sum()), [x, c], dtype, eager=False)


@needs_cc
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_layer_norm_forward_and_backward(shape, dtype):
    rng = np.random.default_rng(2)
    x, c = _arr(rng, shape, dtype), _arr(rng, shape, dtype)
    w, b = _arr(rng, shape[-1:], dtype), _arr(rng, shape[-1:], dtype)
    tol = {"rtol": 2e-4, "atol": 2e-5} if dtype == np.float32 else None  # rsqrt of a float32 variance
    _check(layer_norm, [x, w, b], dtype, tol)
    fn = tg.func.grad(lambda x, w, b, c: (layer_norm(x, w, b) * c).sum(), argnums=(0, 1, 2))
    _check(fn, [x, w, b, c], dtype, tol, eager=False)


@needs_cc
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("classes", [1, 7, 1000])
def test_cross_entropy_forward_and_backward(classes, dtype):
    rng = np.random.default_rng(3)
    x = _arr(rng, (33, classes), dtype)
    y = rng.integers(0, classes, 33)
    y[4] = -100  # ignored
    p = rng.dirichlet(np.ones(classes), 33).astype(dtype)
    cases = [
        (lambda x, y: F.cross_entropy(x, y), [x, y]),
        (lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1, reduction="sum"), [x, y]),
        (lambda x, y: F.cross_entropy(x, y, reduction="none"), [x, y]),
        (lambda x, p: F.cross_entropy(x, p), [x, p]),
    ]
    for fn, args in cases:
        _check(fn, args, dtype)
        _check(tg.func.grad(lambda x, t, fn=fn: fn(x, t).sum()), args, dtype, eager=False)


@needs_cc
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_propagates_nan_and_handles_infinities_like_numpy(dtype):
    x = np.random.default_rng(4).standard_normal((7, 37)).astype(dtype)
    x[0, 3] = np.nan  # a NaN among finite values
    x[1, :] = -np.inf  # a row of -inf
    x[2, 5] = np.inf
    x[3, 0], x[3, 1] = np.inf, np.nan  # NaN after +inf
    x[4, 7] = -np.inf
    x[5, 36] = np.nan  # NaN in the last lane
    fns = [lambda x: x.amax(-1), lambda x: x.amax(0), lambda x: x.amax(), lambda x: x.amin(-1), softmax, log_softmax,
           lambda x: x.amax(-1, keepdim=True) * 2 + x]
    for fn in fns:
        _check(fn, [x], dtype)
    big = np.random.default_rng(5).standard_normal((600, 1000)).astype(dtype)  # parallel: NaN in one chunk only
    big[350, 7] = np.nan
    for fn in fns[:3]:
        _check(fn, [big], dtype)


@needs_cc
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mlp_training_step_on_c_matches_numpy_and_eager(dtype):
    def make():
        tg.manual_seed(0)
        model = tg.nn.Sequential(tg.nn.Linear(12, 16), tg.nn.ReLU(), tg.nn.Linear(16, 16), tg.nn.LayerNorm(16),
                                 tg.nn.Linear(16, 5)).to(getattr(tg, np.dtype(dtype).name))
        opt = tg.optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        return model, step

    rng = np.random.default_rng(6)
    x, y = tg.tensor(_arr(rng, (32, 12), dtype)), tg.tensor(rng.integers(0, 5, 32))
    runs = {}
    for how in ("eager", "numpy", "c"):
        model, step = make()
        run = step if how == "eager" else tg.function(step, backend=how)
        losses = [run(x, y).item() for _ in range(3)]
        runs[how] = (losses, [p.numpy().copy() for p in model.parameters()])
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    for how in ("eager", "numpy"):
        np.testing.assert_allclose(runs["c"][0], runs[how][0], **tol)
        for a, b in zip(runs["c"][1], runs[how][1]):
            np.testing.assert_allclose(a, b, **tol)


# *** random programs: reductions, broadcasts back, outside readers and mid-way outputs, mixed ***

UNARY = [lambda t: t.tanh(), lambda t: t.sigmoid(), lambda t: -t, lambda t: t * 1.5 + 0.25, lambda t: t.abs(),
         lambda t: t.tanh().exp()]
BINARY = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b, lambda a, b: a.maximum(b),
          lambda a, b: tg.where(a > b, a, b * 0.5)]


def _program(seed):
    """Random steps over full values, row values (keepdims reductions over the last axis) and outputs; each step
    is (kind, three random integers that pick its operands and variant)."""
    rng = np.random.default_rng(seed)
    kinds = ["unary", "binary", "bias", "rowsum", "rowmax", "userow", "rowop", "colsum", "allsum", "outside",
             "output", "rowout", "mean2"]
    steps = []
    for _ in range(14):
        kind = kinds[rng.integers(len(kinds))]
        steps.append((kind, *rng.integers(0, 1 << 30, 3)))
    return steps


def _run_program(steps, ndim):
    def fn(x, z, w):
        full, rows, outs = [x, z], [x.sum(-1, keepdim=True)], []
        for kind, a, b, c in steps:
            u, v = full[a % len(full)], full[b % len(full)]
            row = rows[c % len(rows)]
            if kind == "unary":
                full.append(UNARY[c % len(UNARY)](u))
            elif kind == "binary":
                full.append(BINARY[c % len(BINARY)](u, v))
            elif kind == "bias":
                full.append(u + w if c % 2 else u * w)
            elif kind == "rowsum":
                rows.append(u.sum(-1, keepdim=True))
            elif kind == "rowmax":
                rows.append(u.amax(-1, keepdim=True))
            elif kind == "userow":
                full.append([u - row, u * row, u / (row.abs() + 1)][c % 3])
            elif kind == "rowop":
                rows.append([row.tanh().exp(), (row.abs() + 1).log(), row * row][c % 3])
            elif kind == "colsum":
                outs.append(u.sum(0))
            elif kind == "allsum":
                outs.append(u.sum() * 0.5 + 1)
            elif kind == "outside":  # a numpy call reading a kernel's value mid-way
                full.append(u.cumsum(-1) * 0.1)
            elif kind == "output":
                outs.append(u)
            elif kind == "rowout":
                outs.append(row.squeeze(-1) if c % 2 else row)
            elif kind == "mean2" and ndim >= 3:
                outs.append(u.mean((0, 1)))  # a prefix over two axes: another split than the rows'
        return [*outs, full[-1], rows[-1]]

    return fn


@needs_cc
@pytest.mark.parametrize("seed", range(24))
def test_random_programs_match_numpy(seed):
    ndim = 2 + seed % 2
    shape = [(9, 13), (3, 5, 11)][seed % 2] if seed % 4 < 2 else [(40, 1000), (4, 30, 300)][seed % 2]
    dtype = np.float32 if seed % 3 else np.float64
    rng = np.random.default_rng(seed)
    x, z, w = _arr(rng, shape, dtype), _arr(rng, shape, dtype), _arr(rng, shape[-1:], dtype)
    fn = _run_program(_program(seed), ndim)
    tol = {"rtol": 2e-4, "atol": 2e-4} if dtype == np.float32 else {"rtol": 1e-9, "atol": 1e-9}
    _check(fn, [x, z, w], dtype, tol)
    loss = tg.func.grad(lambda x, z, w: sum((o * 0.37).sum() for o in fn(x, z, w)), argnums=(0, 1, 2))
    _check(loss, [x, z, w], dtype, tol, eager=False)


def test_the_kernel_comment_says_how_it_loops():
    (k,) = _kernels(softmax, tg.zeros(64, 1000))
    src, args = render.render(k, "k0")
    assert "/* k0: fuses amax isinf where expand sub exp sum expand div over [64, 1000] as 64 rows of 1000 in 3 loops */" in src
    assert "#pragma omp simd reduction(max:" in src and "#pragma omp parallel for" in src
    assert len(args) == 1 and src.count("int k0(void **a)") == 1


def test_row_classes_of_softmax_values():
    (k,) = _kernels(softmax, tg.zeros(3, 4))
    by_prim = {}
    for e in k.members:
        by_prim.setdefault(e.prim.name, set()).add(k.kind[e.outputs[0].id])
    assert by_prim["amax"] == {ROW} and by_prim["sum"] == {ROW} and by_prim["exp"] == {FULL}
    assert by_prim["expand"] == {FULL}

