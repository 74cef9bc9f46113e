"""Elementwise kernels with loads broadcast along trailing axes (backends/c/render.py `broadcast_split`): looped as
rows by contiguous columns, the broadcast value indexed once per row. Values against numpy and eager (float32 and
float64, a bias over NCHW, a row or column vector over a matrix, sizes too small to split, a kernel large enough
to run on several cores), and the gradients of a bias + ReLU."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.backends.c import render


@pytest.fixture(autouse=True)
def _cache(c_cache, monkeypatch):
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(c_cache))


CASES = [  # (x shape, broadcast operand shape, rows the kernel should be split into, or 0: one flat loop)
    ((4, 3, 5, 6), (3, 1, 1), 12),  # a conv bias over NCHW: rows of H*W
    ((7, 33), (33,), 7),  # a Linear bias: rows of the features
    ((7, 33), (7, 1), 7),  # a per-row value
    ((2, 3, 40), (2, 1, 40), 6),  # broadcast in the middle: rows of the last axis
    ((5, 4), (4,), 0),  # rows of 4: too short, one flat loop
    ((64, 64, 24, 24), (64, 1, 1), 4096),  # W2's second convolution: big enough for several cores
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("xs,bs,rows", CASES)
def test_broadcast_rows_match_numpy(xs, bs, rows, dtype):
    rng = np.random.default_rng(0)
    x, b = rng.standard_normal(xs).astype(dtype), rng.standard_normal(bs).astype(dtype)

    def f(x, b):
        h = x + b
        return h.relu(), h > 0.5, (h * b - x).exp()  # float, bool and costly outputs

    g = tg.jit(f, backend="c")
    got = g(tg.tensor(x), tg.tensor(b))
    want = [np.maximum(x + b, 0), (x + b) > 0.5, np.exp((x + b) * b - x)]
    tol = 1e-5 if dtype == np.float32 else 1e-12  # (exp of an argument rounded with or without an FMA)
    for u, w in zip(got, want):
        np.testing.assert_allclose(u.numpy(), w, rtol=tol, atol=tol)
    source = g.get_concrete_function(tg.tensor(x), tg.tensor(b)).plan().source
    assert (f" as {rows} rows of " in source) == bool(rows), source[source.index("/* k0"):][:400]


def test_bias_relu_gradients_match_eager():
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal((8, 4, 6, 6)).astype(np.float32))
    b = tg.tensor(rng.standard_normal(4).astype(np.float32))

    def loss(x, b):
        return ((x + b.reshape(4, 1, 1)).relu() ** 2).sum()

    want = tg.func.grad(loss, argnums=(0, 1))(x, b)
    got = tg.jit(tg.func.grad(loss, argnums=(0, 1)), backend="c")(x, b)
    for u, w in zip(got, want):
        np.testing.assert_allclose(u.numpy(), w.numpy(), rtol=1e-5, atol=1e-5)


def test_split_rule():
    class K:  # the two attributes broadcast_split reads
        def __init__(self, shape, lshapes):
            self.shape = shape
            self.loads = {i: (type("V", (), {"const": None})(), s) for i, s in enumerate(lshapes)}

    assert render.broadcast_split(K((8, 3, 5, 6), [(8, 3, 5, 6), (3, 1, 1)])) == 2
    assert render.broadcast_split(K((8, 32), [(8, 32), (32,)])) == 1
    assert render.broadcast_split(K((8, 32), [(8, 32), (8, 32)])) == 0  # nothing broadcast
    assert render.broadcast_split(K((8, 32), [(8, 32), ()])) == 0  # a scalar: one flat loop reads it as well
    assert render.broadcast_split(K((8, 3, 32), [(8, 3, 32), (8, 1, 1), (1, 3, 32)])) == 1
