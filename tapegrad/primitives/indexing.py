"""Advanced indexing primitives: Index (x[key] with integer index tensors) and IndexPut.

`key` encodes a numpy index with the index tensors taken out: each entry is "idx" (the next index
tensor argument), ("slice", start, stop, step), "newaxis" or "ellipsis". gather, scatter_add,
index_select, take_along_dim and integer/boolean-mask indexing are composites of these two.
"""

from __future__ import annotations

import numpy as np

from .base import AVal, Primitive, SavesFrom, bind, register


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
    saves = SavesFrom(1)  # the index tensors

    def shape(self, x, *idx, key):
        return AVal(indexed_shape(x.shape, key, [i.shape for i in idx]), x.dtype)

    def vjp(self, g, x, *idx, out, key):
        zeros = g.new_zeros(x.shape)
        return (bind(IndexPut, zeros, g, *idx, key=key, accumulate=True),) + (None,) * len(idx)

    def jvp(self, dxs, xs, out, *, key):
        return bind(Index, dxs[0], *xs[1:], key=key)


@register
class IndexPut(Primitive):
    """out = copy of x with v written (accumulate=False) or added (accumulate=True) at x[key].

    v already has the indexed shape. With repeated indices and accumulate=False, the last write wins.
    """

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
