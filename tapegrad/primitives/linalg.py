"""Matrix multiplication and the sliding-window pair (unfold / fold) that convolution and pooling use.

conv, conv_transpose and pooling are composites (ops/conv.py): unfold + reshape + matmul.
"""

from __future__ import annotations

import math

from . import batching
from .base import LINALG, AVal, Primitive, bind, register


@register
class Matmul(Primitive):
    """out = x @ y for x (..., n, k), y (..., k, m) with equal batch dims (broadcast by the front end)."""

    family = LINALG

    saves, vjp_needs = (0, 1), True

    def shape(self, x, y):
        if x.ndim < 2 or y.ndim < 2 or x.shape[:-2] != y.shape[:-2] or x.shape[-1] != y.shape[-2]:
            raise ValueError(f"matmul: cannot multiply {x.shape} by {y.shape}")
        return AVal(x.shape[:-1] + y.shape[-1:], x.dtype)

    def vjp(self, g, x, y, out, needs=(True, True)):
        return g @ y.mT if needs[0] else None, x.mT @ g if needs[1] else None

    def jvp(self, dxs, xs, out):
        (dx, dy), (x, y) = dxs, xs
        a = None if dx is None else dx @ y
        b = None if dy is None else x @ dy
        return b if a is None else a if b is None else a + b

    def batch(self, xs, bdims):
        (x, y), (bx, by) = xs, bdims
        if by is None and y.ndim == 2:  # examples stacked as rows: one (B*n, k) @ (k, m) product
            x = batching.move_to_front(x, bx)
            rows = tuple(x.shape[:-1])
            out = bind(Matmul, x.reshape(math.prod(rows), x.shape[-1]), y)
            return out.reshape(tuple(rows) + (y.shape[-1],)), 0
        if bx is None and x.ndim == 2:  # examples side by side as columns: (n, k) @ (k, B*m)
            y = batching.move_to_front(y, by)  # (B, k, m) -> (k, B, m) -> (k, B*m)
            if y.ndim == 3:
                b, k, m = y.shape
                out = bind(Matmul, x, y.permute(1, 0, 2).reshape(k, b * m))
                return out.reshape(x.shape[0], b, m), 1
        n = batching.batch_size(xs, bdims)
        return bind(Matmul, batching.at_front(x, bx, n), batching.at_front(y, by, n)), 0


def window_out_size(size, kernel, stride, dilation):
    return (size - dilation * (kernel - 1) - 1) // stride + 1


@register
class Unfold(Primitive):
    """Sliding windows of x (N, C, *S): out (N, C, *O, *K), O = number of window positions per dim.

    x is already padded; kernel, stride and dilation are tuples with one entry per spatial dim.
    """

    family = LINALG

    def shape(self, x, *, kernel, stride, dilation):
        spatial = x.shape[2:]
        outs = tuple(window_out_size(*a) for a in zip(spatial, kernel, stride, dilation))
        if len(spatial) != len(kernel) or any(o <= 0 for o in outs):
            raise ValueError(
                f"unfold: kernel {kernel} with dilation {dilation} does not fit in the spatial size {spatial}"
            )
        return AVal(x.shape[:2] + outs + tuple(kernel), x.dtype)

    def vjp(self, g, x, out, *, kernel, stride, dilation):
        return (bind(Fold, g, size=x.shape[2:], kernel=kernel, stride=stride, dilation=dilation),)

    def jvp(self, dxs, xs, out, *, kernel, stride, dilation):
        return bind(Unfold, dxs[0], kernel=kernel, stride=stride, dilation=dilation)

    def batch(self, xs, bdims, **params):
        return batching.with_leading(self, xs, bdims, **params)


@register
class Fold(Primitive):
    """The transpose of Unfold: adds each window back at its place in a (N, C, *size) result."""

    family = LINALG

    def shape(self, x, *, size, kernel, stride, dilation):
        return AVal(x.shape[:2] + tuple(size), x.dtype)

    def vjp(self, g, x, out, *, size, kernel, stride, dilation):
        return (bind(Unfold, g, kernel=kernel, stride=stride, dilation=dilation),)

    def jvp(self, dxs, xs, out, *, size, kernel, stride, dilation):
        return bind(Fold, dxs[0], size=size, kernel=kernel, stride=stride, dilation=dilation)

    def batch(self, xs, bdims, **params):
        return batching.with_leading(self, xs, bdims, **params)
