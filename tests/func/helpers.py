"""Shared helpers for tests/func: float64 tensors, central finite differences, torch conversion."""

from __future__ import annotations

import numpy as np

import tapegrad as tg


def t64(a):
    return tg.tensor(np.asarray(a, dtype=np.float64))


def rand(rng, *shape):
    return t64(rng.standard_normal(shape))


def num_grad(f, x, eps=1e-6):
    """d f / d x of a scalar function of one tensor, by central differences (numpy array)."""
    base = x.numpy().astype(np.float64)
    g = np.zeros_like(base)
    for i in np.ndindex(base.shape):
        hi, lo = base.copy(), base.copy()
        hi[i] += eps
        lo[i] -= eps
        g[i] = (float(f(t64(hi))) - float(f(t64(lo)))) / (2 * eps)
    return g


def num_jac(f, x, eps=1e-6):
    """Jacobian of f (tensor -> tensor) at x, shape out.shape + x.shape, by central differences."""
    base = x.numpy().astype(np.float64)
    out_shape = tuple(f(x).shape)
    jac = np.zeros(out_shape + base.shape)
    for i in np.ndindex(base.shape):
        hi, lo = base.copy(), base.copy()
        hi[i] += eps
        lo[i] -= eps
        jac[(Ellipsis,) + i] = (f(t64(hi)).numpy() - f(t64(lo)).numpy()) / (2 * eps)
    return jac


def close(a, b, tol=1e-6):
    a = a.numpy() if hasattr(a, "numpy") and not isinstance(a, np.ndarray) else np.asarray(a)
    b = (
        b.detach().numpy()
        if hasattr(b, "detach")
        else (b.numpy() if hasattr(b, "numpy") and not isinstance(b, np.ndarray) else np.asarray(b))
    )
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=tol, atol=tol)
