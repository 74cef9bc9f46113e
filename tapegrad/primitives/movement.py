"""Movement primitives: reshape, permute, expand, slice and its transpose, pad, flip, concat.

Reshape, permute, expand and slice are views on the numpy backend (`is_view`): their outputs share
storage and the version counter with their input, as in PyTorch.
"""

from __future__ import annotations

import math

from . import batching
from .base import MOVEMENT, AVal, Primitive, bind, register


@register
class Reshape(Primitive):
    family, fusable = MOVEMENT, True  # fuses as a view of a value inside a kernel
    is_view = True

    def shape(self, x, *, shape):
        if math.prod(shape) != math.prod(x.shape):
            raise ValueError(f"reshape: cannot reshape {x.shape} to {shape}: sizes differ")
        return AVal(shape, x.dtype)

    def vjp(self, g, x, out, *, shape):
        return (g.reshape(x.shape),)

    def jvp(self, dxs, xs, out, *, shape):
        return dxs[0].reshape(shape)

    def batch(self, xs, bdims, *, shape):
        x = batching.move_to_front(xs[0], bdims[0])
        return bind(Reshape, x, shape=(x.shape[0],) + tuple(shape)), 0


@register
class Permute(Primitive):
    family = MOVEMENT
    is_view = True

    def shape(self, x, *, perm):
        return AVal(tuple(x.shape[p] for p in perm), x.dtype)

    def vjp(self, g, x, out, *, perm):
        inverse = [0] * len(perm)
        for i, p in enumerate(perm):
            inverse[p] = i
        return (g.permute(*inverse),)

    def jvp(self, dxs, xs, out, *, perm):
        return dxs[0].permute(*perm)

    def batch(self, xs, bdims, *, perm):
        x = batching.move_to_front(xs[0], bdims[0])
        return bind(Permute, x, perm=(0,) + tuple(p + 1 for p in perm)), 0


@register
class Expand(Primitive):
    """Broadcast x to `shape` (x has as many dims, with size 1 where it is expanded)."""

    family, fusable = MOVEMENT, True  # fuses as a broadcast read

    is_view = True

    def shape(self, x, *, shape):
        return AVal(shape, x.dtype)

    def vjp(self, g, x, out, *, shape):
        axes = tuple(i for i, (a, b) in enumerate(zip(x.shape, shape)) if a != b)
        return (g.sum(axes, keepdim=True) if axes else g,)

    def jvp(self, dxs, xs, out, *, shape):
        return dxs[0].expand(shape)

    def batch(self, xs, bdims, *, shape):
        x = batching.move_to_front(xs[0], bdims[0])
        return bind(Expand, x, shape=(x.shape[0],) + tuple(shape)), 0


def _slice_len(start, stop, step):
    return len(range(start, stop, step))


@register
class Slice(Primitive):
    """Basic strided slicing: one (start, stop, step) per axis, already normalised by the front end."""

    family = MOVEMENT

    is_view = True

    def shape(self, x, *, index):
        return AVal(tuple(_slice_len(*s) for s in index), x.dtype)

    def vjp(self, g, x, out, *, index):
        return (bind(Unslice, g, shape=x.shape, index=index),)

    def jvp(self, dxs, xs, out, *, index):
        return bind(Slice, dxs[0], index=index)

    def batch(self, xs, bdims, *, index):
        x = batching.move_to_front(xs[0], bdims[0])
        return bind(Slice, x, index=((0, x.shape[0], 1),) + tuple(index)), 0


@register
class Unslice(Primitive):
    """The transpose of Slice: zeros of `shape` with x placed at the sliced positions."""

    family = MOVEMENT

    def shape(self, x, *, shape, index):
        return AVal(shape, x.dtype)

    def vjp(self, g, x, out, *, shape, index):
        return (bind(Slice, g, index=index),)

    def jvp(self, dxs, xs, out, *, shape, index):
        return bind(Unslice, dxs[0], shape=shape, index=index)

    def batch(self, xs, bdims, *, shape, index):
        x = batching.move_to_front(xs[0], bdims[0])
        n = x.shape[0]
        return bind(Unslice, x, shape=(n,) + tuple(shape), index=((0, n, 1),) + tuple(index)), 0


@register
class Pad(Primitive):
    """Constant padding: widths is ((before, after), ...) per axis, all >= 0."""

    family = MOVEMENT

    def shape(self, x, *, widths, value):
        return AVal(tuple(n + a + b for n, (a, b) in zip(x.shape, widths)), x.dtype)

    def vjp(self, g, x, out, *, widths, value):
        index = tuple((a, a + n, 1) for n, (a, _) in zip(x.shape, widths))
        return (bind(Slice, g, index=index),)

    def jvp(self, dxs, xs, out, *, widths, value):
        return bind(Pad, dxs[0], widths=widths, value=0.0)

    def batch(self, xs, bdims, *, widths, value):
        return bind(Pad, xs[0], widths=widths[: bdims[0]] + ((0, 0),) + widths[bdims[0] :], value=value), bdims[0]


@register
class Flip(Primitive):
    family = MOVEMENT

    def shape(self, x, *, axes):
        return x

    def vjp(self, g, x, out, *, axes):
        return (g.flip(axes),)

    def jvp(self, dxs, xs, out, *, axes):
        return dxs[0].flip(axes)

    def batch(self, xs, bdims, **params):
        return batching.along_axes(self, xs, bdims, ("axes",), **params)


@register
class Concat(Primitive):
    """Joins inputs of equal shape except along axis."""

    family = MOVEMENT

    def shape(self, *xs, axis):
        first = xs[0].shape
        for x in xs[1:]:
            if len(x.shape) != len(first) or any(a != b for i, (a, b) in enumerate(zip(x.shape, first)) if i != axis):
                shapes = ", ".join(str(t.shape) for t in xs)
                raise ValueError(f"cat: shapes must match except in dimension {axis}, got {shapes}")
        size = sum(x.shape[axis] for x in xs)
        return AVal(first[:axis] + (size,) + first[axis + 1 :], xs[0].dtype)

    def vjp(self, g, *xs, out, axis):
        grads, start = [], 0
        for x in xs:
            n = x.shape[axis]
            grads.append(g.narrow(axis, start, n))
            start += n
        return tuple(grads)

    def jvp(self, dxs, xs, out, *, axis):
        from ..ops.shape import cat

        return cat([d if d is not None else x.zeros_like() for d, x in zip(dxs, xs)], axis)

    def batch(self, xs, bdims, *, axis):
        n = batching.batch_size(xs, bdims)
        return bind(Concat, *[batching.at_front(x, d, n) for x, d in zip(xs, bdims)], axis=axis + 1), 0
