"""Helpers for the batching rules (vmap) that sit beside each primitive's other rules.

A batching rule is `batch(self, xs, bdims, **params) -> (out, out_bdim)`: xs are the lower-level values,
bdims[i] the axis of xs[i] that is mapped over, or None when xs[i] is the same for every example (at
least one is not None). The rule computes all examples at once, with primitives, and says where the
batch axis of `out` is. Used by func/vmap.py; depends on base.py only.
"""

from __future__ import annotations

import numpy as np

from .base import bind


def batch_size(xs, bdims) -> int:
    for x, d in zip(xs, bdims):
        if d is not None:
            return x.shape[d]
    raise AssertionError("a batching rule was called without a batched input")


def move_to_front(x, bdim):
    """x with its batch axis first (a view)."""
    if bdim == 0:
        return x
    from .movement import Permute

    perm = (bdim,) + tuple(i for i in range(x.ndim) if i != bdim)
    return bind(Permute, x, perm=perm)


def at_front(x, bdim, size):
    """x with a batch axis of `size` first: moved there, or broadcast (a view) when x is unbatched."""
    if bdim is not None:
        return move_to_front(x, bdim)
    from .movement import Expand, Reshape

    shape = tuple(x.shape)
    return bind(Expand, bind(Reshape, x, shape=(1,) + shape), shape=(size,) + shape)


def elementwise(prim, xs, bdims, **params):
    """The rule of every elementwise primitive (operands of one shape, per example)."""
    if None not in bdims and len(set(bdims)) == 1:
        return bind(prim, *xs, **params), bdims[0]
    size = batch_size(xs, bdims)
    return bind(prim, *[at_front(x, d, size) for x, d in zip(xs, bdims)], **params), 0


def _shift(v):
    return tuple(a + 1 for a in v) if isinstance(v, tuple) else v + 1


def along_axes(prim, xs, bdims, names, **params):
    """The rule of a one-input primitive whose params `names` are axes: batch first, axes shifted by one."""
    x = move_to_front(xs[0], bdims[0])
    shifted = {k: (_shift(v) if k in names else v) for k, v in params.items()}
    return bind(prim, x, **shifted), 0


def with_leading(prim, xs, bdims, **params):
    """The rule of a primitive on (N, C, ...) inputs that treats N as independent (unfold, fold): the batch
    axis is merged into N, the primitive applied once, and the axis split out again."""
    from .movement import Reshape

    x = move_to_front(xs[0], bdims[0])
    b, n = x.shape[0], x.shape[1]
    merged = bind(Reshape, x, shape=(b * n,) + tuple(x.shape[2:]))
    out = bind(prim, merged, **params)
    return bind(Reshape, out, shape=(b, n) + tuple(out.shape[1:])), 0


def arange_index(size, ndim):
    """The index tensor 0..size-1 shaped (size, 1, ..., 1) with `ndim` trailing ones (picks example b)."""
    from ..tensor import Tensor

    return Tensor._make(np.arange(size, dtype=np.int64).reshape((size,) + (1,) * ndim))
