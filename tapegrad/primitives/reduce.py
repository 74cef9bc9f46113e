"""Reduction and scan primitives: sum, amax, argmax/argmin, tile_argmax (max pooling's index), cumsum, cumprod, argsort.

`axes` is a sorted tuple of non-negative axes (the front end normalises dim arguments).
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtype as dt
from . import batching
from .base import REDUCTION, AVal, Primitive, bind, register
from .elementwise import NonDiff


def reduced_shape(shape, axes, keepdim):
    if keepdim:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _accumulated(x):
    """The result dtype of sums and products: floats keep theirs, bool and integers accumulate in int64."""
    return x.dtype if x.dtype.category == dt.FLOAT else dt.int64


def _sum(t, axes, keepdim):
    # NOTE: the primitive, not Tensor.sum: the front end reads axes=() as "every axis", Sum as "none".
    return bind(Sum, t, axes=axes, keepdim=keepdim)


def _keep(t, shape, axes, keepdim):
    """Reinsert the reduced axes (as size 1) so that t broadcasts against the input."""
    return t if keepdim else t.reshape(reduced_shape(shape, axes, True))


@register
class Sum(Primitive):
    family, fusable = REDUCTION, True
    def shape(self, x, *, axes, keepdim):
        return AVal(reduced_shape(x.shape, axes, keepdim), _accumulated(x))

    def vjp(self, g, x, out, *, axes, keepdim):
        return (_keep(g, x.shape, axes, keepdim).expand(x.shape),)

    def jvp(self, dxs, xs, out, *, axes, keepdim):
        return _sum(dxs[0], axes, keepdim)

    def batch(self, xs, bdims, **params):
        return batching.along_axes(self, xs, bdims, ("axes",), **params)


@register
class Amax(Primitive):
    """Maximum over axes; the gradient is shared evenly among tied maxima (as torch.amax does)."""

    family, fusable = REDUCTION, True

    saves, saves_out = (0,), True

    def shape(self, x, *, axes, keepdim):
        return AVal(reduced_shape(x.shape, axes, keepdim), x.dtype)

    def _weights(self, x, out, axes, keepdim):
        hit = (x == _keep(out, x.shape, axes, keepdim)).to(x.dtype)
        return hit / _sum(hit, axes, True)

    def vjp(self, g, x, out, *, axes, keepdim):
        return (_keep(g, x.shape, axes, keepdim) * self._weights(x, out, axes, keepdim),)

    def jvp(self, dxs, xs, out, *, axes, keepdim):
        return _sum(dxs[0] * self._weights(xs[0], out, axes, keepdim), axes, keepdim)

    def batch(self, xs, bdims, **params):
        return batching.along_axes(self, xs, bdims, ("axes",), **params)


class ArgReduce(NonDiff):
    family = REDUCTION

    def shape(self, x, *, axis, keepdim):
        return AVal(reduced_shape(x.shape, (axis,), keepdim), dt.int64)

    def batch(self, xs, bdims, **params):
        return batching.along_axes(self, xs, bdims, ("axis",), **params)


@register
class Argmax(ArgReduce):
    pass


@register
class Argmin(ArgReduce):
    pass


@register
class TileArgmax(NonDiff):
    """Max pooling's argmax where the windows tile x: x (N, C, *S) is cut into tiles of `kernel` from the origin
    (stride = kernel, no padding or dilation; a remainder at the end of a dim is left out, as floor mode does),
    and out (N, C, *O), O_i = S_i // kernel_i, holds for each tile the flat index into x (C order over all of x)
    of its first maximum in scan order; a NaN counts as the largest, as in numpy's argmax.

    Eager max pooling (ops/conv.py) gathers its output with this index and scatters its gradient through it, in
    one pass over x instead of the windows' argmax, gather and Fold."""

    name = "tile_argmax"
    family = REDUCTION

    def shape(self, x, *, kernel):
        nd = len(kernel)
        if len(x.shape) != nd + 2 or any(k < 1 or n < k for n, k in zip(x.shape[2:], kernel)):
            raise ValueError(f"tile_argmax: kernel {tuple(kernel)} needs an input (N, C, *S) with S at least the "
                             f"kernel in every dim, got shape {tuple(x.shape)}")
        return AVal(tuple(x.shape[:2]) + tuple(n // k for n, k in zip(x.shape[2:], kernel)), dt.int64)

    def batch(self, xs, bdims, **params):
        # the batch axis merged into N, then each example's indices shifted back by the elements of the examples
        # before it (an index is into the example's own x)
        from ..tensor import Tensor
        from .elementwise import Sub
        from .movement import Expand

        out, at = batching.with_leading(self, xs, bdims, **params)
        b, per = out.shape[0], math.prod(xs[0].shape) // out.shape[0]
        shift = Tensor._make((np.arange(b, dtype=np.int64) * per).reshape((b,) + (1,) * (len(out.shape) - 1)))
        return bind(Sub, out, bind(Expand, shift, shape=tuple(out.shape))), at


@register
class Argsort(NonDiff):
    """Indices that sort x along axis (stable); descending puts larger values first."""

    family = REDUCTION

    def shape(self, x, *, axis, descending):
        return AVal(x.shape, dt.int64)

    def batch(self, xs, bdims, **params):
        return batching.along_axes(self, xs, bdims, ("axis",), **params)


@register
class Cumsum(Primitive):
    family = REDUCTION

    def shape(self, x, *, axis):
        return AVal(x.shape, _accumulated(x))

    def vjp(self, g, x, out, *, axis):
        # the gradient of a prefix sum is the suffix sum of g
        return (g.flip(axis).cumsum(axis).flip(axis),)

    def jvp(self, dxs, xs, out, *, axis):
        return dxs[0].cumsum(axis)

    def batch(self, xs, bdims, **params):
        return batching.along_axes(self, xs, bdims, ("axis",), **params)


@register
class Cumprod(Primitive):
    """out[i] = prod(x[:i+1]) along axis.

    vjp: dx[j] = sum_{i>=j} g[i] * out[i] / x[j]; written so that zeros in x are handled exactly:
    out[i] / x[j] is the product of x[:i+1] without x[j], computed from exclusive products.
    """

    family = REDUCTION

    saves, saves_out = (0,), True

    def shape(self, x, *, axis):
        return AVal(x.shape, _accumulated(x))

    def vjp(self, g, x, out, *, axis):
        n = x.shape[axis]
        if n == 0:
            return (g,)
        # before[j] = prod(x[:j]); the product of x[j+1 : i+1] is cumprod of x starting at j+1.
        # dx[j] = before[j] * sum_{i>=j} g[i] * prod(x[j+1:i+1]): a reverse scan of (g, x).
        before = out.narrow(axis, 0, n - 1) if n > 1 else None
        ones = x.narrow(axis, 0, 1).ones_like()
        before = ones if before is None else _cat([ones, before], axis)
        acc = _reverse_weighted_scan(g, x, axis)
        return (before * acc,)

    def jvp(self, dxs, xs, out, *, axis):
        # d out[i] = sum_{j<=i} dx[j] * out[i] / x[j]: the linear map whose transpose is the vjp above
        return _cumprod_tangent(dxs[0], xs[0], out, axis)

    def batch(self, xs, bdims, **params):
        return batching.along_axes(self, xs, bdims, ("axis",), **params)


def _reverse_weighted_scan(g, x, axis):
    """r[j] = sum_{i>=j} g[i] * prod(x[j+1 : i+1]), by the recurrence r[j] = g[j] + x[j+1] * r[j+1]."""
    n = x.shape[axis]
    parts = [g.narrow(axis, n - 1, 1)]
    for j in range(n - 2, -1, -1):
        parts.append(g.narrow(axis, j, 1) + x.narrow(axis, j + 1, 1) * parts[-1])
    return _cat(parts[::-1], axis)


def _cumprod_tangent(dx, x, out, axis):
    """t[i] = x[i] * t[i-1] + dx[i] * out[i-1] (product rule along the scan)."""
    n = x.shape[axis]
    if n == 0:
        return dx
    parts = [dx.narrow(axis, 0, 1)]
    for i in range(1, n):
        parts.append(x.narrow(axis, i, 1) * parts[-1] + dx.narrow(axis, i, 1) * out.narrow(axis, i - 1, 1))
    return _cat(parts, axis)


def _cat(tensors, axis):
    from ..ops.shape import cat

    return cat(tensors, axis)


@register
class Prod(Primitive):
    """Product along one axis. vjp: g times the product of all other elements, computed from
    exclusive prefix and suffix products so that zeros in x are exact (no division)."""

    family = REDUCTION

    saves = (0,)

    def shape(self, x, *, axis, keepdim):
        return AVal(reduced_shape(x.shape, (axis,), keepdim), _accumulated(x))

    def vjp(self, g, x, out, *, axis, keepdim):
        return (_keep(g, x.shape, (axis,), keepdim) * _others_product(x, axis),)

    def jvp(self, dxs, xs, out, *, axis, keepdim):
        return (dxs[0] * _others_product(xs[0], axis)).sum((axis,), keepdim=keepdim)

    def batch(self, xs, bdims, **params):
        return batching.along_axes(self, xs, bdims, ("axis",), **params)


def _others_product(x, axis):
    """p[j] = prod_{i != j} x[i] along axis = (prod of x before j) * (prod of x after j)."""
    n = x.shape[axis]
    if n <= 1:
        return x.ones_like()
    ones = x.narrow(axis, 0, 1).ones_like()
    before = _cat([ones, x.narrow(axis, 0, n - 1)], axis).cumprod(axis)
    # after[j] = prod(x[j+1:]): exclusive suffix products, a prefix scan of the reversed x[1:]
    after = _cat([ones, x.narrow(axis, 1, n - 1).flip(axis)], axis).cumprod(axis).flip(axis)
    return before * after
