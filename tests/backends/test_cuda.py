"""The CUDA renderer without a GPU: NVRTC compiles every scalar template and every fused kernel of a
representative set of graphs (elementwise, all-axes, row, column and mixed kernels, forward and backward, float32
and float64, integer and bool work) for sm_80 and sm_90, failing on any error or warning; and the same kernel
text, run as C++ on the CPU with the GPU's grid and block sizes, one OS thread per CUDA thread
(backends/cuda/emulate.py), matches the C backend's rendering of the kernel and a numpy evaluation of its
equations. Nothing here runs on a GPU: see docs/cuda.md."""

import ctypes
import re
import shutil
import types

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.backends.c import compiler, lower
from tapegrad.backends.c import render as c_render
from tapegrad.backends.c.fuse import FLOATS, Kernel, fuse
from tapegrad.backends.c.plan import _needed, _uniform_consts
from tapegrad.backends.c.scalar import CTYPES, expr, has_template, template_params
from tapegrad.backends.cuda import emulate, nvrtc
from tapegrad.backends.cuda import render as cu_render
from tapegrad.backends.cuda.source import PRELUDE
from tapegrad.primitives import PRIMITIVES
from tapegrad.primitives.base import ELEMENTWISE

F = tg.nn.functional
ARCHS = ("sm_80", "sm_90")
NVRTC = nvrtc.problem()
needs_nvrtc = pytest.mark.skipif(NVRTC is not None, reason=f"no NVRTC here: {NVRTC}")
needs_cxx = pytest.mark.skipif(shutil.which("c++") is None or shutil.which("cc") is None,
                               reason="no C/C++ compiler on this machine to run the emulated kernels")
TOL = {"float32": {"rtol": 3e-5, "atol": 3e-6}, "float64": {"rtol": 1e-11, "atol": 1e-12}}


@pytest.fixture(autouse=True)
def _cache(monkeypatch, c_cache):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(c_cache))


# *** the graphs: every kind of fused kernel ***


def _layer_norm(x, w, b):
    return F.layer_norm(x, x.shape[-1:], w, b)


def _exp_and_softmax(x):
    e = (x - x.amax(-1, keepdim=True)).exp()
    return e, e / e.sum(-1, keepdim=True)  # e is an output: the last loop reads it back instead of recomputing


def _mlp_loss(w1, b1, w2, b2, x, y):
    return F.cross_entropy(F.relu(x @ w1.T + b1) @ w2.T + b2, y)


def _cases(dtype):
    rng = np.random.default_rng(0)

    def t(*shape):
        return tg.tensor(rng.standard_normal(shape).astype(dtype))

    labels = tg.tensor(rng.integers(0, 7, 9))
    ints = tg.tensor(rng.integers(-50, 50, (5, 6)).astype(np.int32))
    yield "w3", lambda x: (tg.tanh(x) * 2 + 1).sum(), [t(1000)]
    yield "w3_grad", tg.func.grad(lambda x: (tg.tanh(x) * 2 + 1).sum()), [t(1000)]
    yield "bias_gelu", lambda x, b: F.gelu(x + b) * tg.sigmoid(x), [t(7, 33), t(33)]
    yield "gelu_grad", tg.func.grad(lambda x: (F.gelu(1.5 * x, approximate="tanh") * F.gelu(x)).sum()), [t(300)]
    yield "softmax", lambda x: F.softmax(x, -1), [t(8, 100)]
    yield "exp_and_softmax", _exp_and_softmax, [t(5, 70)]
    yield "log_softmax_grad", tg.func.grad(lambda x, c: (F.log_softmax(x, -1) * c).sum()), [t(6, 40), t(6, 40)]
    yield "layer_norm", _layer_norm, [t(4, 3, 10), t(10), t(10)]
    yield "layer_norm_grad", tg.func.grad(lambda x, w, b, c: (_layer_norm(x, w, b) * c).sum(), argnums=(0, 1, 2)), \
        [t(4, 3, 10), t(10), t(10), t(4, 3, 10)]
    yield "cross_entropy", lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1), [t(9, 7), labels]
    yield "cross_entropy_grad", tg.func.grad(lambda x, y: F.cross_entropy(x, y)), [t(9, 7), labels]
    yield "mlp_grad", tg.func.grad(_mlp_loss, argnums=(0, 1, 2, 3)), \
        [t(16, 12), t(16), t(7, 16), t(7), t(9, 12), labels]
    yield "column_sum", lambda x, b: F.relu(x * 2 + b).sum(0), [t(40, 50), t(50)]
    yield "row_max_mean", lambda x: x.amax(-1) + x.mean(-1) + x.sum(), [t(5, 37)]
    yield "ints", lambda a, b: ((a & b) + (a << 2) - a.abs()) * (a > b), [ints, ints.flip(0)]
    yield "where_cast", lambda x: tg.where(x > 0, x, x * 0.01).to(tg.float64 if dtype == np.float32 else tg.float32),\
        [t(3, 4, 5)]


def _kernels(fn, args):
    """The fused kernels of fn's graph, as the C plan prepares them (backends/c/plan.py)."""
    graph = _uniform_consts(tg.jit(fn).lower(*args))
    return [x for x in _needed(graph, lower.lower(fuse(graph), graph.outputs)) if isinstance(x, Kernel)]


def _all_kernels():
    out = []
    for dtype in (np.float32, np.float64):
        for name, fn, args in _cases(dtype):
            for k in _kernels(fn, args):
                out.append((f"{name}_{np.dtype(dtype).name}", k))
    return out


KERNELS = _all_kernels()


def test_the_graphs_cover_every_layout_and_role():
    lays = {cu_render.layout(k) for _, k in KERNELS}
    roles = {r for _, k in KERNELS for r in k.role.values()}
    assert lays == {"flat", "rows", "columns"}
    assert roles == {"map", "alias", "suffix", "prefix", "all"}
    # a row kernel with column partials (layer norm's weight gradients) and a finishing kernel
    mixed = [k for _, k in KERNELS if cu_render.layout(k) == "rows" and "prefix" in k.role.values()]
    assert mixed and all(len(cu_render.render(k, "k").launches) == 2 for k in mixed)


def test_partial_columns_of_a_row_kernel_are_bounded():
    x, w = tg.zeros(4096, 2048), tg.zeros(2048)
    fn = tg.func.grad(lambda x, w, b, c: (_layer_norm(x, w, b) * c).sum(), argnums=(0, 1, 2))
    (k,) = _kernels(fn, [x, w, w, x])
    ck = cu_render.render(k, "k0")
    grid = ck.launches[0].grid
    assert grid == cu_render.COL_PARTIALS // 2048 < 4096 and ck.workspace == 2 * grid * 2048


# *** NVRTC ***


def _template_cases():
    """(primitive name, input dtypes, output dtype, params) for every elementwise template of scalar.py (each
    template of a primitive whose params choose one: gelu's approximations) and every dtype the numpy reference
    accepts it in."""
    for name, prim in PRIMITIVES.items():
        if not (prim.fusable and prim.family in ELEMENTWISE and has_template(name)):
            continue
        if name == "cast":
            yield from ((name, [s], d, {}) for s in CTYPES for d in CTYPES)
            continue
        if name == "where":
            yield from ((name, ["bool", d, d], d, {}) for d in CTYPES)
            continue
        arity = 1 if prim.family == "unary" else 2
        for d in CTYPES:
            if prim.float_only and d not in FLOATS:
                continue
            for params in template_params(name):
                try:
                    out = np.asarray(prim.impl(*[np.ones(2, d)] * arity, **params)).dtype.name
                except TypeError:
                    continue
                if out in CTYPES:
                    yield name, [d] * arity, out, params


def _template_source() -> tuple:
    """One kernel per template case: out[i] = <template>(x0[i], ...) in a grid-stride loop."""
    cases, text = list(_template_cases()), []
    dt = types.SimpleNamespace
    for j, (name, ins, out, kw) in enumerate(cases):
        e = dt(prim=dt(name=name), inputs=[dt(dtype=dt(name=d)) for d in ins], outputs=[dt(dtype=dt(name=out))],
               params=kw)
        params = [f"const {CTYPES[d]} *__restrict__ x{i}" for i, d in enumerate(ins)]
        params.append(f"{CTYPES[out]} *__restrict__ y")
        text += [f'extern "C" __global__ void tpl{j}({", ".join(params)}, long n) {{',
                 "    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n;"
                 " i += (long)blockDim.x * gridDim.x)",
                 f"        y[i] = {expr(e, [f'x{i}[i]' for i in range(len(ins))])};", "}"]
    return cases, PRELUDE + "\n".join(text) + "\n"


@needs_nvrtc
# PTX (NVRTC without ptxas, which took 4-8 s more per arch on these 182 kernels); the fused kernels go to cubins
@pytest.mark.parametrize("arch", ["compute_80", "compute_90"])
def test_nvrtc_compiles_every_scalar_template(arch):
    cases, source = _template_source()
    names = {c[0] for c in cases}
    assert names == {n for n, p in PRIMITIVES.items() if p.fusable and p.family in ELEMENTWISE and has_template(n)}
    cubin, log = nvrtc.compile(source, arch)
    assert cubin and log == ""


@needs_nvrtc
@pytest.mark.parametrize("arch", ARCHS)
def test_nvrtc_compiles_every_fused_kernel(arch):
    kernels = [cu_render.render(k, f"k{j}") for j, (_, k) in enumerate(KERNELS)]
    cubin, log = nvrtc.compile(cu_render.module_source(kernels), arch)
    assert cubin and log == ""
    for ck in kernels:  # every launch names a function of the module
        assert all(f'void {launch.name}(' in ck.source for launch in ck.launches)


@needs_nvrtc
def test_nvrtc_errors_and_warnings_fail_with_the_log():
    with pytest.raises(nvrtc.CudaCompileError, match="undefined"):
        nvrtc.compile('extern "C" __global__ void f(float *x) { x[0] = nope; }', "sm_90")
    with pytest.raises(nvrtc.CudaCompileError, match="declared but never referenced"):
        nvrtc.compile('extern "C" __global__ void f(float *x) { int unused; x[0] = 1; }', "sm_90")


@needs_nvrtc
def test_nvrtc_cache_is_keyed_by_source_and_arch(tmp_path, monkeypatch):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(tmp_path))
    src = 'extern "C" __global__ void f(float *x) { x[threadIdx.x] = 1; }\n'
    a, b, c = nvrtc.build(src, "sm_80"), nvrtc.build(src, "sm_90"), nvrtc.build(src, "sm_80")
    assert a == c != b and str(tmp_path) in a
    with open(a, "rb") as f:
        assert f.read(4) == b"\x7fELF"  # a cubin is an ELF file


# *** the kernel text run on the CPU, against the C backend and numpy ***


def _inputs(k, rng):
    """One array per loaded Var of kernel k (its constant where it has one), in the shape it is loaded with."""
    arrays = {}
    for vid, (v, lshape) in k.loads.items():
        if v.const is not None:
            arrays[vid] = np.ascontiguousarray(np.broadcast_to(v.const, v.const.shape).reshape(lshape))
        elif v.dtype.name in FLOATS:
            arrays[vid] = rng.standard_normal(lshape).astype(v.dtype.np)
        elif v.dtype.name == "bool":
            arrays[vid] = rng.integers(0, 2, lshape).astype(bool)
        else:
            arrays[vid] = rng.integers(-9, 9, lshape).astype(v.dtype.np)
    return arrays


def _numpy(k, arrays):
    """The kernel's outputs from its equations on the numpy reference."""
    shapes = {u.id: tuple(u.shape) for e in k.members for u in e.inputs}
    env = {}
    for vid, (v, lshape) in k.loads.items():
        shape = shapes[vid]
        env[vid] = np.broadcast_to(arrays[vid].reshape((1,) * (len(shape) - len(lshape)) + tuple(lshape)), shape)
    for e in k.members:
        env[e.outputs[0].id] = np.asarray(e.prim.impl(*[env[u.id] for u in e.inputs], **e.params))
    return [env[v.id] for v in k.outputs]


def _c(k, arrays):
    """The kernel's outputs from the C backend's rendering of it."""
    src, args = c_render.render(k, "k0")
    path = compiler.build(c_render.PRELUDE + lower.PRELUDE + "\n" + src, compiler.compiler())
    fn = compiler.Library(path).fn("k0", True)
    ins = [np.ascontiguousarray(arrays[next(vid for vid, (u, _) in k.loads.items() if u is v)]) for v in args]
    outs = [np.empty(tuple(v.shape), v.dtype.np) for v in k.outputs]
    ptrs = (ctypes.c_void_p * (len(ins) + len(outs)))(*[a.ctypes.data for a in ins + outs])
    assert fn(ptrs) == 0
    return outs


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    kernels = [cu_render.render(k, f"k{j}") for j, (_, k) in enumerate(KERNELS)]
    return kernels, emulate.build(kernels, str(tmp_path_factory.mktemp("emulate")))


@needs_cxx
@pytest.mark.parametrize("j", range(len(KERNELS)), ids=[f"{n}-{j}" for j, (n, _) in enumerate(KERNELS)])
def test_emulated_cuda_kernel_matches_c_and_numpy(j, emulated):
    kernels, lib = emulated
    ck, k = kernels[j], KERNELS[j][1]
    arrays = _inputs(k, np.random.default_rng(j))
    got = emulate.run(lib, ck, [arrays[next(vid for vid, (u, _) in k.loads.items() if u is v)] for v in ck.args])
    for ref in (_c(k, arrays), _numpy(k, arrays)):
        for g, w, v in zip(got, ref, k.outputs):
            assert g.shape == tuple(v.shape) and g.dtype == v.dtype.np
            np.testing.assert_allclose(g, w, equal_nan=True, **TOL.get(v.dtype.name, {"rtol": 0, "atol": 0}))


@needs_cxx
def test_emulated_kernels_on_few_small_blocks_stride_over_rows_and_elements(monkeypatch, tmp_path):
    # 3 blocks of 64 threads: every grid-stride, row-stride and thread-stride loop goes round more than once
    monkeypatch.setattr(cu_render, "MAX_BLOCKS", 3)
    monkeypatch.setattr(cu_render, "THREADS", 64)
    picked = [k for name, k in KERNELS if name.endswith("float32")]
    cks = [cu_render.render(k, f"s{j}") for j, k in enumerate(picked)]
    assert {launch.grid for ck in cks for launch in ck.launches} <= {1, 2, 3}
    lib = emulate.build(cks, str(tmp_path))
    for j, (ck, k) in enumerate(zip(cks, picked)):
        arrays = _inputs(k, np.random.default_rng(j))
        got = emulate.run(lib, ck, [arrays[next(vid for vid, (u, _) in k.loads.items() if u is v)] for v in ck.args])
        for g, w, v in zip(got, _numpy(k, arrays), k.outputs):
            np.testing.assert_allclose(g, w, equal_nan=True, **TOL.get(v.dtype.name, {"rtol": 0, "atol": 0}))


@needs_cxx
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_emulated_max_propagates_nan_like_numpy(dtype, tmp_path):
    x = np.random.default_rng(1).standard_normal((6, 37)).astype(dtype)
    x[0, 3], x[1, :], x[2, 5] = np.nan, -np.inf, np.inf
    kernels = [k for k in _kernels(lambda t: (t.amax(-1), t.amax()), [tg.tensor(x)])]
    cks = [cu_render.render(k, f"m{j}") for j, k in enumerate(kernels)]
    lib = emulate.build(cks, str(tmp_path))
    outs = [o for ck in cks for o in emulate.run(lib, ck, [x])]
    want = {(6,): x.max(-1), (): x.max()}
    for o in outs:
        np.testing.assert_array_equal(o, want[o.shape])


# *** the CUDA plan, with numpy standing in for CuPy and the emulated kernels for the GPU ***


class _FakeCupy:
    """The few CuPy calls plan.py makes, on numpy arrays."""

    asarray, ascontiguousarray, empty, asnumpy = np.asarray, np.ascontiguousarray, np.empty, np.asarray


@pytest.fixture
def fake_gpu(monkeypatch, tmp_path):
    from tapegrad.backends.cuda import plan

    def module(cp, source, kernels):
        lib = emulate.build(kernels, str(tmp_path))
        return {launch.name: emulate.launcher(lib, launch.name) for ck in kernels for launch in ck.launches}

    monkeypatch.setattr(plan, "_cupy", lambda: _FakeCupy)
    monkeypatch.setattr(plan, "_module", module)
    monkeypatch.setattr(tg.cuda, "backend_problem", lambda: None)
    return plan


@needs_cxx
@pytest.mark.parametrize("name", ["w3_grad", "layer_norm_grad", "mlp_grad", "softmax", "ints", "column_sum"])
def test_cuda_plan_on_emulated_kernels_matches_numpy(name, fake_gpu):
    _, fn, args = next(c for c in _cases(np.float32) if c[0] == name)
    got = tg.jit(fn, backend="cuda")(*args)
    want = tg.jit(fn, backend="numpy")(*args)
    got, want = (list(x) if isinstance(x, (tuple, list)) else [x] for x in (got, want))
    assert isinstance(tg.jit(fn, backend="cuda").get_concrete_function(*args).plan(), fake_gpu.CudaPlan)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g.numpy(), w.numpy(), **TOL.get(w.numpy().dtype.name, {"rtol": 0, "atol": 0}))


def test_cuda_device_and_backend_say_what_is_missing():
    why = tg.cuda.backend_problem()
    if why is None:
        pytest.skip("this machine has a GPU, CuPy and NVRTC")
    assert tg.cuda.is_available() is False
    for make in (lambda: tg.zeros(2, device="cuda"), lambda: tg.ones(2).to("cuda:0"), lambda: tg.ones(2).cuda(),
                 lambda: tg.nn.Linear(2, 2).to("cuda")):
        with pytest.raises(RuntimeError, match="is not available: " + re.escape(why.split(" (")[0])):
            make()
    with pytest.raises(tg.errors.BackendError, match="backend 'cuda' .* cannot run here"):
        tg.jit(lambda x: x + 1, backend="cuda")(tg.ones(2))


# *** on a GPU (skipped elsewhere; benchmarks/gpu_check.sh runs them) ***

GPU = tg.cuda.backend_problem()
needs_gpu = pytest.mark.skipif(GPU is not None, reason=f"needs an NVIDIA GPU with CuPy and NVRTC: {GPU}")


@needs_gpu
def test_fused_kernels_on_the_gpu_match_numpy():
    import cupy as cp

    from tapegrad.backends.cuda import plan

    cks = [cu_render.render(k, f"k{j}") for j, (_, k) in enumerate(KERNELS)]
    fns = plan._module(cp, cu_render.module_source(cks), cks)
    for j, (ck, (_, k)) in enumerate(zip(cks, KERNELS)):
        arrays = _inputs(k, np.random.default_rng(j))
        ins = [cp.asarray(arrays[next(vid for vid, (u, _) in k.loads.items() if u is v)]) for v in ck.args]
        outs = [cp.empty(tuple(v.shape), v.dtype.np) for v in k.outputs]
        ws = [cp.full(ck.workspace, np.nan)] if ck.workspace else []
        for launch in ck.launches:
            fns[launch.name]((launch.grid,), (launch.block,), tuple(ins + outs + ws))
        for g, w, v in zip(outs, _numpy(k, arrays), k.outputs):
            tol = TOL.get(v.dtype.name, {"rtol": 0, "atol": 0})
            np.testing.assert_allclose(cp.asnumpy(g), w, equal_nan=True, **tol)


@needs_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", [c[0] for c in _cases(np.float32)])
def test_cuda_plan_on_the_gpu_matches_numpy(name, dtype):
    _, fn, args = next(c for c in _cases(dtype) if c[0] == name)
    got, want = tg.jit(fn, backend="cuda")(*args), tg.jit(fn, backend="numpy")(*args)
    got, want = (list(x) if isinstance(x, (tuple, list)) else [x] for x in (got, want))
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g.numpy(), w.numpy(), **TOL.get(w.numpy().dtype.name, {"rtol": 0, "atol": 0}))


@needs_nvrtc
def test_nvrtc_leaves_python_objects_alone():
    """NVRTC fills buffers we give it: they must be our own (a one-byte log buffer made as b" " * 1 was Python's
    shared b" " object, and every b" " in the process read b"\\x00" afterwards)."""
    nvrtc.compile('extern "C" __global__ void k(float *y) { y[0] = 1.0f; }', "compute_80")
    assert b" " * 1 == b"\x20" and bytes([32]) == b" "
