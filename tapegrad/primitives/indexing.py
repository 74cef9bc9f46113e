"""Advanced indexing primitives: Index (x[key] with integer index tensors) and IndexPut.

`key` encodes a numpy index with the index tensors taken out: each entry is "idx" (the next index
tensor argument), ("slice", start, stop, step), "newaxis" or "ellipsis". gather, scatter_add,
index_select, take_along_dim and integer/boolean-mask indexing are composites of these two.
"""

from __future__ import annotations

import numpy as np

from . import batching
from .base import INDEXING, AVal, Primitive, SavesFrom, bind, register


def decode_key(key, idx):
    """The numpy index for `key` with the index arrays `idx` filled in."""
    it = iter(idx)
    out = []
    for k in key:
        if k == "idx":
            out.append(next(it))
        elif k == "newaxis":
            out.append(None)
        elif k == "ellipsis":
            out.append(Ellipsis)
        else:
            out.append(slice(*k[1:]))
    return tuple(out)


def indexed_shape(shape, key, idx_shapes):
    """Result shape of numpy advanced indexing, found on zero-strided stand-ins (no data is read)."""
    dummy = np.lib.stride_tricks.as_strided(np.zeros(1, np.int8), shape=shape, strides=(0,) * len(shape))
    idx = [np.zeros(s, np.int64) for s in idx_shapes]
    return dummy[decode_key(key, idx)].shape


@register
class Index(Primitive):
    family = INDEXING
    saves = SavesFrom(1)  # the index tensors

    def shape(self, x, *idx, key):
        return AVal(indexed_shape(x.shape, key, [i.shape for i in idx]), x.dtype)

    def vjp(self, g, x, *idx, out, key):
        zeros = g.new_zeros(x.shape)
        return (bind(IndexPut, zeros, g, *idx, key=key, accumulate=True),) + (None,) * len(idx)

    def jvp(self, dxs, xs, out, *, key):
        return bind(Index, dxs[0], *xs[1:], key=key)

    def batch(self, xs, bdims, *, key):
        if all(d is None for d in bdims[1:]):  # only x is batched: x[:, key]
            x = batching.move_to_front(xs[0], bdims[0])
            out = bind(Index, x, *xs[1:], key=(_ALL,) + tuple(key))
            # NOTE: numpy puts the indexed dims first when the index tensors are not adjacent in the key
            return out, 0 if _adjacent(key) else len(_index_shape(xs[1:], [None] * len(xs[1:])))
        x, idx, new_key, move = _batched_key(xs, bdims, key)
        out = bind(Index, x, *idx, key=new_key)
        perm = _restoring_perm(out.ndim, move)
        return (out if perm is None else out.permute(*perm)), 0


@register
class IndexPut(Primitive):
    """out = copy of x with v written (accumulate=False) or added (accumulate=True) at x[key].

    v already has the indexed shape. With repeated indices and accumulate=False, the last write wins.
    """

    family = INDEXING

    name = "index_put"

    saves = SavesFrom(2)  # the index tensors

    def shape(self, x, v, *idx, key, accumulate):
        return x

    def vjp(self, g, x, v, *idx, out, key, accumulate):
        gx = g if accumulate else bind(IndexPut, g, g.new_zeros(v.shape), *idx, key=key, accumulate=False)
        return (gx, bind(Index, g, *idx, key=key)) + (None,) * len(idx)

    def jvp(self, dxs, xs, out, *, key, accumulate):
        dx, dv = dxs[0], dxs[1]
        x, v, idx = xs[0], xs[1], xs[2:]
        dx = dx if dx is not None else x.zeros_like()
        dv = dv if dv is not None else v.zeros_like()
        return bind(IndexPut, dx, dv, *idx, key=key, accumulate=accumulate)

    def batch(self, xs, bdims, *, key, accumulate):
        n = batching.batch_size(xs, bdims)
        x = batching.at_front(xs[0], bdims[0], n)
        if bdims[0] is None:
            x = x.contiguous()
        v = batching.at_front(xs[1], bdims[1], n)
        x, idx, new_key, move = _batched_key([x] + list(xs[2:]), [0] + list(bdims[2:]), key)
        perm = _restoring_perm(v.ndim, move)
        if perm is not None:  # v has one example's layout; the batched key indexes in numpy's other order
            inverse = [0] * len(perm)
            for i, q in enumerate(perm):
                inverse[q] = i
            v = v.permute(*inverse)
        return bind(IndexPut, x, v, *idx, key=new_key, accumulate=accumulate), 0


# *** batching: x[key] for every example at once ***

_ALL = ("slice", None, None, None)


def _adjacent(key) -> bool:
    """Whether the index tensors of key are consecutive entries (numpy then keeps their dims in place)."""
    pos = [i for i, k in enumerate(key) if k == "idx"]
    return not pos or pos[-1] - pos[0] == len(pos) - 1


def _index_shape(idx, bdims):
    """The broadcast shape of one example's index tensors."""
    shapes = [tuple(i.shape) if d is None else tuple(i.shape[:d]) + tuple(i.shape[d + 1 :]) for i, d in zip(idx, bdims)]
    return np.broadcast_shapes(*shapes) if shapes else ()


def _dims_before_first_index(key, ndim):
    """How many result dims the key entries before its first index tensor produce (for an ndim-d example)."""
    consumed = sum(1 for k in key if k == "idx" or (isinstance(k, tuple) and k[0] == "slice"))
    count = 0
    for k in key:
        if k == "idx":
            break
        count += ndim - consumed if k == "ellipsis" else 1
    return count


def _batched_key(xs, bdims, key):
    """x (batched first), index tensors and key that index every example at once, with an index tensor
    arange(B) picking the example; and (r, p) when the result's dims must be reordered (else None)."""
    n = batching.batch_size(xs, bdims)
    x, idx, ibd = batching.at_front(xs[0], bdims[0], n), xs[1:], bdims[1:]
    shape = _index_shape(idx, ibd)
    r = len(shape)
    new_idx = [batching.arange_index(n, r)]
    for i, d in zip(idx, ibd):
        if d is None:
            new_idx.append(i)
        else:
            i = batching.move_to_front(i, d)
            new_idx.append(i.reshape((n,) + (1,) * (r - (i.ndim - 1)) + tuple(i.shape[1:])))
    move = None
    p = _dims_before_first_index(key, x.ndim - 1)
    if _adjacent(key) and p > 0:
        # NOTE: with the leading batch index the indices are no longer adjacent, so numpy gives
        # (B, *shape, *before, *after) where one example has (*before, *shape, *after)
        move = (r, p)
    return x, new_idx, ("idx",) + tuple(key), move


def _restoring_perm(ndim, move):
    """The permutation from (B, *shape, *before, *after) to (B, *before, *shape, *after)."""
    if move is None:
        return None
    r, p = move
    return (0,) + tuple(1 + r + i for i in range(p)) + tuple(1 + i for i in range(r)) + tuple(range(1 + r + p, ndim))

