"""Small helpers for the engine tests: the same float64 data as a tapegrad and a PyTorch leaf."""

from __future__ import annotations

import numpy as np

import tapegrad as tg


def pair(data, requires_grad=True):
    """(tapegrad leaf, torch leaf) holding the same float64 values."""
    import torch

    arr = np.asarray(data, dtype=np.float64)
    return tg.tensor(arr, requires_grad=requires_grad), torch.tensor(arr, requires_grad=requires_grad)


def np_of(t):
    """numpy values of a tapegrad or torch tensor (None stays None)."""
    if t is None:
        return None
    if hasattr(t, "detach"):  # a tapegrad or torch tensor
        return t.detach().numpy()
    return np.asarray(t)


def assert_close(a, b, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np_of(a), np_of(b), rtol=rtol, atol=atol)


def grads_both(fn, *datas):
    """Run fn(lib, *leaves) in both libraries, backward with ones, and return (tg grads, torch grads)."""
    import torch

    out = []
    for lib in (tg, torch):
        leaves = [lib.tensor(np.asarray(d, dtype=np.float64), requires_grad=True) for d in datas]
        r = fn(lib, *leaves)
        r.backward(lib.ones_like(r))
        out.append([leaf.grad for leaf in leaves])
    return out
