"""Interleaved flat loops (backends/c/render.py `interleave`): a long chain of dependent operations over few elements
is rendered as INTERLEAVE independent copies of the loop body. The copies must compute exactly the elements they
claim (offsets, broadcast reads, outputs, the shared reduction), and gcc must still vectorise the loop."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.backends.c import render

from tests.backends.test_c_math import _vectorised_loops, needs_gcc


@pytest.fixture(autouse=True)
def _cache(c_cache, monkeypatch):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(c_cache))


def chain(x, a, b, rounds):
    for _ in range(rounds):
        x = x * a + b
    return x


def _fn(rounds):
    def f(x, a, b):
        y = chain(x, a, b, rounds)
        return y.sum(), y * 2, (y - x).amax()  # a sum, a full output and a max: all three per copy

    return f


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape,b_shape", [((16, 16), (16,)), ((4, 64), (4, 1)), ((96,), ())])
def test_interleaved_chain_matches_eager(dtype, shape, b_shape):
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal(shape).astype(dtype))
    a = tg.tensor((1 + 0.01 * rng.standard_normal(shape)).astype(dtype))
    b = tg.tensor((0.01 * rng.standard_normal(b_shape)).astype(dtype))  # broadcast: index arithmetic per copy
    f = tg.jit(_fn(render.DEEP_CHAIN), backend="c")
    got, want = f(x, a, b), _fn(render.DEEP_CHAIN)(x, a, b)
    assert "interleaved copies" in f.get_concrete_function(x, a, b).plan().source
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=tol, atol=tol)


def test_gradient_of_an_interleaved_chain():
    rng = np.random.default_rng(2)
    x, a, b = (tg.tensor(rng.uniform(0.9, 1.1, (8, 32)).astype(np.float32)) for _ in range(3))

    def loss(x, a, b):
        return chain(x, a, b, render.DEEP_CHAIN).sum()

    g = tg.jit(tg.func.grad(loss, argnums=(0, 1)), backend="c")
    got, want = g(x, a, b), tg.func.grad(loss, argnums=(0, 1))(x, a, b)
    for u, w in zip(got, want):
        np.testing.assert_allclose(u.numpy(), w.numpy(), rtol=1e-4)


@pytest.mark.parametrize("shape", [(100,), (8, 3)])
def test_short_chains_and_odd_sizes_are_not_interleaved(shape):
    x = tg.ones(*shape)
    deep = tg.jit(_fn(render.DEEP_CHAIN), backend="c")  # 100 and 24 elements: not whole vectors per copy
    shallow = tg.jit(_fn(4), backend="c")
    for f in (deep, shallow):
        f(x, x, x)
        assert "interleaved" not in f.get_concrete_function(x, x, x).plan().source
    np.testing.assert_allclose(deep(x, x, x)[1].numpy(), np.full(shape, 2 * (1 + render.DEEP_CHAIN), np.float32))
    x2 = tg.ones(64)
    shallow(x2, x2, x2)
    assert "interleaved" not in shallow.get_concrete_function(x2, x2, x2).plan().source


@needs_gcc
def test_interleaved_loop_vectorises(tmp_path):
    x = tg.ones(16, 16)
    f = tg.jit(_fn(render.DEEP_CHAIN), backend="c")
    f(x, x, x)
    source = f.get_concrete_function(x, x, x).plan().source
    assert "interleaved copies" in source
    assert _vectorised_loops(source, tmp_path), source[-1500:]


def _gelu_sigmoid(x):
    """W3's function: two sigmoids (costly members) in a body of some 20 cheap operations."""
    u = 1.5 * x + 0.5
    return (tg.nn.functional.gelu(u, approximate="tanh") * x.sigmoid()).sum()


def _gelu_sigmoid_grad_numpy(x):
    x = x.astype(np.float64)
    u = 1.5 * x + 0.5
    z = np.sqrt(2 / np.pi) * (u + 0.044715 * u ** 3)
    t = np.tanh(z)
    gelu = 0.5 * u * (1 + t)
    dgelu = 0.5 * (1 + t) + 0.5 * u * (1 - t * t) * np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * u * u)
    s = 1 / (1 + np.exp(-x))
    return 1.5 * dgelu * s + gelu * s * (1 - s)


def test_large_kernel_with_a_costly_function_is_interleaved():
    """A kernel split across cores whose body holds a costly function (here two sigmoids) waits on latency, not
    memory: its body is interleaved, and every copy computes its own quarter of the elements."""
    n = 1 << 16  # large enough for render.parallel
    x = np.random.default_rng(3).uniform(-6, 6, n).astype(np.float32)
    x[[0, n // 4, n // 2, 3 * n // 4, n - 1]] = [np.inf, -np.inf, np.nan, -0.0, 90.0]  # one in each copy's part
    g = tg.jit(tg.func.grad(_gelu_sigmoid), backend="c")
    got = g(tg.tensor(x)).numpy()
    source = g.get_concrete_function(tg.tensor(x)).plan().source
    assert "interleaved copies" in source and "parallel for" in source, source[-2000:]
    with np.errstate(all="ignore"):
        want = _gelu_sigmoid_grad_numpy(x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=2e-5, atol=1e-6)


def test_large_reduction_with_a_costly_function_is_interleaved():
    """The parallel reduction path (fixed chunks, partial sums in chunk order) over interleaved copies: each chunk
    covers its slice of every copy's part, so all elements are summed once."""
    n = 1 << 16
    x = np.random.default_rng(4).standard_normal(n).astype(np.float32)
    f = tg.jit(lambda t: t.sigmoid().sum(), backend="c")
    got = f(tg.tensor(x)).numpy()
    assert "interleaved copies" in f.get_concrete_function(tg.tensor(x)).plan().source
    np.testing.assert_allclose(got, (1 / (1 + np.exp(-x.astype(np.float64)))).sum(), rtol=1e-6)


def test_large_cheap_kernel_is_not_interleaved():
    """A cheap large kernel waits on memory: one copy of the body (interleaving would only cost compile time)."""
    x = tg.ones(1 << 18)
    f = tg.jit(lambda t: t * 2.0 + 1.0, backend="c")
    np.testing.assert_array_equal(f(x).numpy(), np.full(1 << 18, 3.0, np.float32))
    source = f.get_concrete_function(x).plan().source
    assert "parallel for" in source and "interleaved" not in source


@needs_gcc
def test_interleaved_parallel_loop_vectorises(tmp_path):
    x = tg.ones(1 << 16)
    g = tg.jit(tg.func.grad(_gelu_sigmoid), backend="c")
    g(x)
    source = g.get_concrete_function(x).plan().source
    assert "interleaved copies" in source and "schedule-insns" in source
    assert _vectorised_loops(source, tmp_path), source[-1500:]
