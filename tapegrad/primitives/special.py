"""Special-function primitives (torch.special): lgamma, polygamma (digamma is n = 0), erfinv, erfcx, ndtri,
the modified Bessel functions i0 / i0e / i1 / i1e, the Hurwitz zeta and the regularized incomplete gamma pair.

Elementwise, float only and not fused (the C plan runs the numpy implementations, backends/special_math.py).
Each derivative is another primitive of this file, so every order of derivative exists:
  lgamma' = digamma, polygamma(n)' = polygamma(n + 1), erfinv' = sqrt(pi)/2 exp(out^2),
  erfcx' = 2x out - 2/sqrt(pi), ndtri' = sqrt(2 pi) exp(out^2 / 2), i0' = i1, i1' = i0 - i1/x (1/2 at 0),
  i0e' = i1e - sign(x) out, i1e' = i0e - out (sign(x) + 1/x) (1/2 at 0), d zeta(x, q)/dq = -x zeta(x + 1, q),
  d P(a, x)/dx = -d Q(a, x)/dx = x^(a-1) e^-x / Gamma(a).
"""

from __future__ import annotations

import math

from . import batching
from .base import BINARY, COSTLY_COST, bind, register, same_shape
from .elementwise import Unary, UnaryOfOut


class _Special(Unary):
    fusable = False


@register
class Lgamma(_Special):
    def derivative(self, x, out):
        return bind(Polygamma, x, n=0)


@register
class Polygamma(_Special):
    """The n-th derivative of digamma; n is a static non-negative int."""

    def shape(self, x, *, n):
        return x

    def vjp(self, g, x, out, *, n):
        return (g * bind(self, x, n=n + 1),)

    def jvp(self, dxs, xs, out, *, n):
        return dxs[0] * bind(self, xs[0], n=n + 1)

    def batch(self, xs, bdims, *, n):
        return bind(self, xs[0], n=n), bdims[0]


@register
class Erfinv(UnaryOfOut):
    fusable = False

    def derivative(self, x, out):
        return (math.sqrt(math.pi) / 2) * (out * out).exp()


@register
class Erfcx(_Special):
    saves_out = True

    def derivative(self, x, out):
        return 2 * x * out - 2 / math.sqrt(math.pi)


@register
class Ndtri(UnaryOfOut):
    fusable = False

    def derivative(self, x, out):
        return math.sqrt(2 * math.pi) * (out * out * 0.5).exp()


def _at_zero(x, value, elsewhere):
    """`elsewhere(x)` evaluated at a safe point where x == 0 and replaced there by `value` (the limit)."""
    zero = x == 0
    return zero._select(value, elsewhere(zero._select(1.0, x)))


@register
class I0(_Special):
    def derivative(self, x, out):
        return bind(I1, x)


@register
class I0e(_Special):
    saves_out = True

    def derivative(self, x, out):
        return bind(I1e, x) - x.sign() * out


@register
class I1(_Special):
    saves_out = True

    def derivative(self, x, out):
        # NOTE: out / x at x == 0 is the limit 1/2; the masked branch divides by 1, not 0 (no nan in grad-of-grad)
        return _at_zero(x, 0.5, lambda s: bind(I0, s) - bind(I1, s) / s)


@register
class I1e(_Special):
    saves_out = True

    def derivative(self, x, out):
        return _at_zero(x, 0.5, lambda s: bind(I0e, s) - bind(I1e, s) * (s.sign() + 1 / s))


@register
class Zeta(_Special):
    """Hurwitz zeta(x, q) = sum over k >= 0 of (k + q)^-x. Differentiable in q only, as in PyTorch (whose
    gradient in x raises); here x's gradient is None."""

    family, saves = BINARY, (0, 1)
    cost = COSTLY_COST

    def shape(self, x, q):
        return same_shape("zeta", x, q)

    def vjp(self, g, x, q, out):
        return None, -g * x * bind(self, x + 1, q)

    def jvp(self, dxs, xs, out):
        dx, dq = dxs
        x, q = xs
        return None if dq is None else -dq * x * bind(self, x + 1, q)

    def batch(self, xs, bdims):
        return batching.elementwise(self, xs, bdims)


def _igamma_density(a, x):
    """d P(a, x) / dx = x^(a-1) e^(-x) / Gamma(a), written with log and lgamma so that large a stays finite."""
    return ((a - 1) * x.log() - x - bind(Lgamma, a)).exp()


class _IncompleteGamma(_Special):
    """P(a, x) (sign 1) or Q(a, x) (sign -1). Differentiable in x only, as in PyTorch (whose gradient in a
    raises); here a's gradient is None."""

    family, saves = BINARY, (0, 1)
    sign = 1.0

    def shape(self, a, x):
        return same_shape(self.name, a, x)

    def vjp(self, g, a, x, out):
        return None, g * _igamma_density(a, x) * self.sign

    def jvp(self, dxs, xs, out):
        da, dx = dxs
        return None if dx is None else dx * _igamma_density(*xs) * self.sign

    def batch(self, xs, bdims):
        return batching.elementwise(self, xs, bdims)


@register
class Gammainc(_IncompleteGamma):
    """The regularized lower incomplete gamma P(a, x)."""


@register
class Gammaincc(_IncompleteGamma):
    """The regularized upper incomplete gamma Q(a, x) = 1 - P(a, x), computed directly (precise where P -> 1)."""

    sign = -1.0
