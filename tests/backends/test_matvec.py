"""Products of one matrix by several column vectors merged into one C loop over the matrix (backends/c/matvec.py):
the values agree with numpy's, and the merge happens only where every vector is ready and the matrix is no view."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.backends.c.matvec import MatvecKernel


@pytest.fixture(autouse=True)
def _cache(c_cache, monkeypatch):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(c_cache))


def _merged(fn, *args) -> list:
    """The MatvecKernels of fn's C plan for these arguments."""
    return [k for k in fn.get_concrete_function(*args).plan().kernels if isinstance(k, MatvecKernel)]


def _hvp(w, x, v):
    def f(x):
        return ((w @ x).tanh() ** 2).sum()

    return tg.func.jvp(tg.func.grad(f), (x,), (v,))[1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("n", [64, 37])  # 37 rows: a block of four rows and the rows left over
def test_hessian_vector_product_merges_its_two_products(n, dtype):
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((n, n)) / np.sqrt(n)).astype(dtype)
    x, v = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    fn = tg.jit(_hvp, backend="c")
    got = fn(tg.tensor(w), tg.tensor(x), tg.tensor(v)).numpy()
    w64, x64, v64 = (a.astype(np.float64) for a in (w, x, v))
    t = np.tanh(w64 @ x64)
    want = w64.T @ (2 * (1 - 3 * t**2) * (1 - t**2) * (w64 @ v64))
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-5)
    (k,) = _merged(fn, tg.tensor(w), tg.tensor(x), tg.tensor(v))
    assert k.prims == ["matmul", "matmul"] and len(k.outputs) == 2
    # the kernel reads x and v themselves, not their (n, 1) reshapes (whose steps are gone from the plan)
    assert [tuple(a.shape) for a in k.args] == [(n, n), (n,), (n,)]


def test_three_vectors_in_one_kernel_and_a_tall_matrix():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((70, 33)).astype(np.float32)
    bs = [rng.standard_normal((33, 1)).astype(np.float32) for _ in range(3)]

    def f(a, b0, b1, b2):
        return a @ b0, (a @ b1) * 2, a @ b2 + 1

    fn = tg.jit(f, backend="c")
    args = [tg.tensor(a)] + [tg.tensor(b) for b in bs]
    got = [t.numpy() for t in fn(*args)]
    want = [a @ bs[0], (a @ bs[1]) * 2, a @ bs[2] + 1]
    for g, w_ in zip(got, want):
        np.testing.assert_allclose(g, w_, rtol=1e-5, atol=1e-5)
    (k,) = _merged(fn, *args)
    assert len(k.outputs) == 3


def test_a_vector_that_needs_the_first_product_is_not_merged():
    rng = np.random.default_rng(2)
    w = tg.tensor(rng.standard_normal((16, 16)).astype(np.float32) / 4)
    x = tg.tensor(rng.standard_normal((16, 1)).astype(np.float32))

    def f(w, x):
        return w @ (w @ x).tanh()

    fn = tg.jit(f, backend="c")
    wn, xn = w.numpy(), x.numpy()
    np.testing.assert_allclose(fn(w, x).numpy(), wn @ np.tanh(wn @ xn), rtol=1e-5, atol=1e-6)
    assert _merged(fn, w, x) == []


def test_a_matrix_that_is_a_view_stays_with_blas():
    """W.T is a permuted view: the kernel would need a contiguous copy of it on every call."""
    rng = np.random.default_rng(3)
    w = tg.tensor(rng.standard_normal((16, 24)).astype(np.float32))
    x, v = (tg.tensor(rng.standard_normal((16, 1)).astype(np.float32)) for _ in range(2))

    def f(w, x, v):
        return w.T @ x, w.T @ v

    fn = tg.jit(f, backend="c")
    got = fn(w, x, v)
    np.testing.assert_allclose(got[0].numpy(), w.numpy().T @ x.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1].numpy(), w.numpy().T @ v.numpy(), rtol=1e-5, atol=1e-6)
    assert _merged(fn, w, x, v) == []


def test_a_non_contiguous_matrix_argument_is_still_right():
    """A graph input the caller passes as a transposed array: the plan copies it, the values stay right."""
    rng = np.random.default_rng(4)
    x, v = (tg.tensor(rng.standard_normal((12, 1)).astype(np.float32)) for _ in range(2))
    fn = tg.jit(lambda w, x, v: (w @ x, w @ v), backend="c")
    w_c = tg.tensor(rng.standard_normal((12, 12)).astype(np.float32))
    fn(w_c, x, v)
    w_t = tg.from_numpy(rng.standard_normal((12, 12)).astype(np.float32).T)
    got = fn(w_t, x, v)
    np.testing.assert_allclose(got[0].numpy(), w_t.numpy() @ x.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1].numpy(), w_t.numpy() @ v.numpy(), rtol=1e-5, atol=1e-6)
