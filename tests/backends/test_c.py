"""The C backend itself: fusion, kernels against numpy, the kernel cache, backend selection and the fallback
when there is no C compiler."""

import os
import threading
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.backends.base import resolve
from tapegrad.backends.c import compiler
from tapegrad.backends.c.plan import CPlan
from tapegrad.backends.plan import Plan
from tapegrad.errors import BackendError
from tapegrad.backends.c.fuse import Kernel, fuse

HAVE_CC = compiler.shutil.which("cc") is not None
needs_cc = pytest.mark.skipif(not HAVE_CC, reason="no C compiler on this machine")
rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _cache(monkeypatch, c_cache):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(c_cache))


def _t(*shape, dtype=np.float32):
    return tg.tensor(rng.standard_normal(shape).astype(dtype))


def w3(x):
    return (tg.nn.functional.gelu(1.5 * x + 0.5, approximate="tanh") * x.sigmoid()).sum()


def test_elementwise_chain_and_sum_fuse_into_one_kernel():
    x = _t(1000)
    items = fuse(tg.jit(w3).lower(x))
    kernels = [k for k in items if isinstance(k, Kernel)]
    assert len(items) == 1 and len(kernels) == 1
    k = kernels[0]
    assert k.reduce is not None and k.prims.count("sigmoid") == 1 and k.prims.count("gelu") == 1
    assert [v.shape for v in k.outputs] == [()]  # no intermediate reaches memory


@needs_cc
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_w3_forward_and_backward_match_numpy(dtype):
    x = _t(5000, dtype=dtype)
    xc, xn = (tg.tensor(x.numpy(), requires_grad=True) for _ in range(2))
    fc, fn = tg.jit(w3, backend="c"), tg.jit(w3, backend="numpy")
    lc, ln = fc(xc), fn(xn)
    lc.backward()
    ln.backward()
    np.testing.assert_allclose(lc.item(), ln.item(), rtol=1e-5)
    np.testing.assert_allclose(xc.grad.numpy(), xn.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert isinstance(fc.get_concrete_function(x).plan(), CPlan)
    assert "fuses" in fc.get_concrete_function(x).plan().source


FUNCS = {
    "bias_relu": lambda x, b, y: tg.nn.functional.relu(x + b) * y,
    "sum_rows": lambda x, b, y: (x * y + b).sum(-1),
    "sum_cols": lambda x, b, y: (x.exp() * y).sum(0),
    "softmax": lambda x, b, y: tg.nn.functional.softmax(x + b, -1),
    "compare": lambda x, b, y: tg.where(x > y, x - b, (y * 2).tanh()) + (x <= 0).float(),
    "math": lambda x, b, y: x.abs().sqrt() + y.exp().log1p() - (x.maximum(y) ** 2) / (b.abs() + 1),
    "matmul_bias": lambda x, b, y: (x @ y.T + b[:5]).sigmoid(),
}


@needs_cc
@pytest.mark.parametrize("name", sorted(FUNCS))
def test_kernels_match_numpy(name):
    fn = FUNCS[name]
    x, b, y = _t(5, 7), _t(7), _t(5, 7)
    want = fn(x, b, y).numpy()
    got = tg.jit(fn, backend="c")(x, b, y).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@needs_cc
def test_large_reductions_run_in_parallel_and_match():
    x, y = _t(300, 400), _t(300, 400)
    for axis in (0, 1, None):
        f = tg.jit(lambda x, y, axis=axis: (x * y).sum(axis) if axis is not None else (x * y).sum(), backend="c")
        want = (x.numpy().astype(np.float64) * y.numpy()).sum(axis)
        np.testing.assert_allclose(f(x, y).numpy(), want, rtol=1e-4, atol=1e-4)


@needs_cc
def test_training_step_matches_eager_within_float_tolerance():
    def make():
        model = tg.nn.Sequential(tg.nn.Linear(6, 8), tg.nn.ReLU(), tg.nn.Linear(8, 3))
        opt = tg.optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = tg.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        return model, step

    (m1, eager), (m2, step) = make(), make()
    for a, b in zip(m2.parameters(), m1.parameters()):
        a._data[...] = b._data
    x, y = _t(16, 6), tg.tensor(rng.integers(0, 3, 16))
    traced = tg.function(step, backend="c")
    want = [eager(x, y).item() for _ in range(4)]
    got = [traced(x, y).item() for _ in range(4)]
    np.testing.assert_allclose(got, want, rtol=1e-5)


@needs_cc
def test_cache_is_reused_and_a_corrupt_entry_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(tmp_path))
    src = "void k0(void **a) { ((float *)a[0])[0] = 42.0f; }\n"
    cc = compiler.compiler()
    compiler.build(src, cc)
    (entry,) = list((tmp_path / "kernels").iterdir())
    inode = entry.stat().st_ino
    compiler.build(src, cc)
    assert entry.stat().st_ino == inode  # a hit, not a rebuild (a rebuild renames a new file into place)
    # a corrupt entry (never loaded by this process: a loaded library's file is only ever replaced, not rewritten)
    src2 = src.replace("42.0f", "43.0f")
    path = compiler.entry(src2, cc)[0]
    with open(path, "wb") as f:
        f.write(b"not a shared library")
    lib = compiler.Library(compiler.build(src2, cc))
    assert lib.fn("k0", False) is not None and os.path.getsize(path) > 100
    assert len(list((tmp_path / "kernels").iterdir())) == 2  # no temporary left behind


@needs_cc
def test_concurrent_builds_of_one_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(tmp_path))
    src = "void k0(void **a) { ((double *)a[0])[0] = 7.0; }\n"
    cc, errors = compiler.compiler(), []

    def go():
        try:
            compiler.build(src, cc)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(list((tmp_path / "kernels").iterdir())) == 1


def test_no_compiler_warns_once_and_runs_on_numpy(monkeypatch):
    monkeypatch.setenv("TAPEGRAD_CC", "/nonexistent/tapegrad-test-cc")
    monkeypatch.setattr(compiler, "_warned", False)
    x = _t(100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = tg.jit(w3, backend="c")
        got = f(x)
        tg.jit(lambda x: x * 2, backend="c")(x)
    msgs = [w for w in caught if issubclass(w.category, compiler.CompilerMissingWarning)]
    assert len(msgs) == 1 and "no C compiler" in str(msgs[0].message) and "TAPEGRAD_CC" in str(msgs[0].message)
    assert isinstance(f.get_concrete_function(x).plan(), Plan)
    np.testing.assert_allclose(got.item(), w3(x).item(), rtol=1e-5)


def test_a_compiler_that_cannot_build_warns_once_and_runs_on_numpy(monkeypatch, tmp_path):
    stub = tmp_path / "cc"
    stub.write_text("#!/bin/sh\necho 'xcrun: error: invalid active developer path' >&2\nexit 1\n")
    stub.chmod(0o755)
    monkeypatch.setenv("TAPEGRAD_CC", str(stub))
    monkeypatch.setattr(compiler, "_warned", False)
    x = _t(100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = tg.jit(w3, backend="c")
        got = f(x)
    msgs = [str(w.message) for w in caught if issubclass(w.category, compiler.CompilerMissingWarning)]
    assert len(msgs) == 1 and "cannot build a shared library" in msgs[0] and "invalid active developer path" in msgs[0]
    assert "TAPEGRAD_CC" in msgs[0] and isinstance(f.get_concrete_function(x).plan(), Plan)
    np.testing.assert_allclose(got.item(), w3(x).item(), rtol=1e-5)


def test_backend_selection(monkeypatch):
    monkeypatch.delenv("TAPEGRAD_BACKEND", raising=False)
    assert resolve(None) == "c" and resolve("C") == "c" and resolve("numpy") == "numpy"
    monkeypatch.setenv("TAPEGRAD_BACKEND", "numpy")
    assert resolve(None) == "numpy"
    monkeypatch.setenv("TAPEGRAD_BACKEND", "cuda")
    with pytest.raises(BackendError, match="TAPEGRAD_BACKEND"):
        resolve(None)
    with pytest.raises(BackendError, match="choose one of numpy, c"):
        tg.jit(lambda x: x, backend="gpu")


_SUM_SCRIPT = """
import numpy as np, tapegrad as tg
x = tg.tensor(np.random.default_rng(0).standard_normal(1 << 20))
z = tg.tensor(np.random.default_rng(2).standard_normal(1 << 20).astype(np.float32))
loss = tg.jit(lambda x: (x * x.exp()).sum(), backend="c")(x)
top, total = tg.jit(lambda z: (z.exp().max(), (z * 2).sum()), backend="c")(z)
print(loss.item().hex(), top.item().hex(), total.item().hex())
"""


@needs_cc
def test_parallel_sums_do_not_depend_on_the_thread_count():
    """A large all-axes reduction is split into fixed slices combined in order: 1 and 3 threads agree bit for bit."""
    import subprocess
    import sys

    def run(threads):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        done = subprocess.run([sys.executable, "-c", _SUM_SCRIPT], env=env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    assert run(1) == run(3)
