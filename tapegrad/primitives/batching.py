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
    if x._interp is None and not x._rg and type(x._data) is np.ndarray:
        return _broadcast_front(x, size, shape, Reshape, Expand)
    return bind(Expand, bind(Reshape, x, shape=(1,) + shape), shape=(size,) + shape)


def _broadcast_front(x, size, shape, Reshape, Expand):
    """bind(Expand, bind(Reshape, x, (1, *shape)), (size, *shape)) for a plain tensor that nothing differentiates (no
    transform owns it, it does not require grad): the same view in one step instead of two primitive calls (a
    constant operand of an elementwise op, such as the 2 of x ** 2, is broadcast so on every call). Like the two
    calls, the result is a view of x: it shares x's version counter and can be rebuilt from x's base."""
    from ..tensor import Tensor

    out = Tensor._make(np.broadcast_to(x._data, (size,) + shape))
    base = x._base if x._base is not None else x
    out._base, out._version, out._view_version = base, x._version, x._version.value
    out._view_ops = (x._view_ops or ()) + ((Reshape, {"shape": (1,) + shape}), (Expand, {"shape": (size,) + shape}))
    if x._cut is not None:  # why no gradient flows (autograd.explain), as eager ops pass it on
        out._cut = x._cut
    return out


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
