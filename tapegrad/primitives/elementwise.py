"""Elementwise primitives: unary math, binary arithmetic, comparisons, where, cast.

Binary primitives receive operands already broadcast to one shape and promoted to one dtype by
the front end (ops/), so their rules never un-broadcast. Rules use tapegrad ops only.
"""

from __future__ import annotations

import math

from .. import dtype as dt
from . import batching
from .base import BINARY, COSTLY_COST, SELECT, UNARY, AVal, Primitive, bind, register, same_shape

# *** unary ***


class Unary(Primitive):
    """out = f(x). Subclasses give f'(x) through `derivative(x, out)`; vjp and jvp follow from it.
    By default a costly float function (exp, log, tanh, ...); the cheap and integer-friendly ones say so."""

    saves = (0,)
    family, fusable, float_only, cost = UNARY, True, True, COSTLY_COST

    def shape(self, x):
        return x

    def derivative(self, x, out):
        raise NotImplementedError

    def vjp(self, g, x, out):
        return (g * self.derivative(x, out),)

    def jvp(self, dxs, xs, out):
        return dxs[0] * self.derivative(xs[0], out)

    def batch(self, xs, bdims):
        return bind(self, xs[0]), bdims[0]


class UnaryOfOut(Unary):
    """A unary primitive whose derivative is written with `out` alone (saves the output only)."""

    saves, saves_out = (), True


class Piecewise(Unary):
    """Piecewise-constant functions (floor, sign, ...): the derivative is zero wherever it exists."""

    saves = ()

    def vjp(self, g, x, out):
        return (g.zeros_like(),)

    def jvp(self, dxs, xs, out):
        return dxs[0].zeros_like()


@register
class Neg(Unary):
    saves, vjp_reads_inputs = (), False
    float_only, cost = False, 1

    def vjp(self, g, x, out):
        return (-g,)

    def jvp(self, dxs, xs, out):
        return -dxs[0]


@register
class Exp(UnaryOfOut):
    def derivative(self, x, out):
        return out


@register
class Expm1(UnaryOfOut):
    def derivative(self, x, out):
        return out + 1


@register
class Log(Unary):
    def derivative(self, x, out):
        return x.reciprocal()


@register
class Log1p(Unary):
    def derivative(self, x, out):
        return (x + 1).reciprocal()


@register
class Sqrt(UnaryOfOut):
    def derivative(self, x, out):
        return 0.5 / out


@register
class Sin(Unary):
    def derivative(self, x, out):
        return x.cos()


@register
class Cos(Unary):
    def derivative(self, x, out):
        return -x.sin()


@register
class Tan(UnaryOfOut):
    def derivative(self, x, out):
        return 1 + out * out


@register
class Asin(Unary):
    def derivative(self, x, out):
        return (1 - x * x).rsqrt()


@register
class Acos(Unary):
    def derivative(self, x, out):
        return -(1 - x * x).rsqrt()


@register
class Atan(Unary):
    def derivative(self, x, out):
        return (1 + x * x).reciprocal()


@register
class Sinh(Unary):
    def derivative(self, x, out):
        return x.cosh()


@register
class Cosh(Unary):
    def derivative(self, x, out):
        return x.sinh()


@register
class Tanh(UnaryOfOut):
    def derivative(self, x, out):
        return 1 - out * out


@register
class Asinh(Unary):
    def derivative(self, x, out):
        return (x * x + 1).rsqrt()


@register
class Acosh(Unary):
    def derivative(self, x, out):
        return (x * x - 1).rsqrt()


@register
class Atanh(Unary):
    def derivative(self, x, out):
        return (1 - x * x).reciprocal()


@register
class Sigmoid(UnaryOfOut):
    def derivative(self, x, out):
        return out * (1 - out)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@register
class Erf(Unary):
    def derivative(self, x, out):
        return _TWO_OVER_SQRT_PI * (-(x * x)).exp()


@register
class Erfc(Unary):
    def derivative(self, x, out):
        return -_TWO_OVER_SQRT_PI * (-(x * x)).exp()


@register
class Abs(Unary):
    float_only, cost = False, 1
    # NOTE: d|x|/dx at 0 is taken as 0 (sign(0) = 0), as PyTorch does.
    def derivative(self, x, out):
        return x.sign()


@register
class Sign(Piecewise):
    float_only, cost = False, 1


@register
class Floor(Piecewise):
    pass


@register
class Ceil(Piecewise):
    pass


@register
class Round(Piecewise):
    """Rounds half to even, like torch.round and numpy.round (decimals handled by the front end)."""


@register
class Trunc(Piecewise):
    pass


# *** binary arithmetic ***


class Binary(Primitive):
    family, fusable = BINARY, True

    def shape(self, x, y):
        return same_shape(self.name, x, y)

    def batch(self, xs, bdims):
        return batching.elementwise(self, xs, bdims)


@register
class Add(Binary):
    vjp_reads_inputs = False

    def vjp(self, g, x, y, out):
        return g, g

    def jvp(self, dxs, xs, out):
        dx, dy = dxs
        return dy if dx is None else dx if dy is None else dx + dy


@register
class Sub(Binary):
    vjp_reads_inputs = False

    def vjp(self, g, x, y, out):
        return g, -g

    def jvp(self, dxs, xs, out):
        dx, dy = dxs
        return -dy if dx is None else dx if dy is None else dx - dy


@register
class Mul(Binary):
    saves, vjp_needs = (0, 1), True

    def vjp(self, g, x, y, out, needs=(True, True)):
        return g * y if needs[0] else None, g * x if needs[1] else None

    def jvp(self, dxs, xs, out):
        (dx, dy), (x, y) = dxs, xs
        return _sum_tangents(None if dx is None else dx * y, None if dy is None else x * dy)


@register
class Div(Binary):
    saves, saves_out, vjp_needs = (1,), (1,), True
    cost = COSTLY_COST

    def vjp(self, g, x, y, out, needs=(True, True)):
        gx = g / y
        return gx if needs[0] else None, -gx * out if needs[1] else None

    def jvp(self, dxs, xs, out):
        (dx, dy), (x, y) = dxs, xs
        return _sum_tangents(None if dx is None else dx / y, None if dy is None else -dy * out / y)


@register
class Pow(Binary):
    saves, saves_out, vjp_needs = (0, 1), (1,), True
    float_only, cost = True, COSTLY_COST

    def vjp(self, g, x, y, out, needs=(True, True)):
        return g * self._dx(x, y) if needs[0] else None, g * self._dy(x, y, out) if needs[1] else None

    def jvp(self, dxs, xs, out):
        (dx, dy), (x, y) = dxs, xs
        return _sum_tangents(
            None if dx is None else dx * self._dx(x, y), None if dy is None else dy * self._dy(x, y, out)
        )

    # NOTE: the branch that _select masks out is evaluated at a safe point (y = 1, resp. x = 1): its value is
    # discarded, but its derivatives are not (0 * inf = nan would leak into second-order gradients).
    @staticmethod
    def _dx(x, y):
        # NOTE: y * x**(y-1) is 0 where y == 0 (even at x == 0, where x**-1 is inf), as in PyTorch.
        y_zero = y == 0
        y_safe = y_zero._select(1.0, y)
        return y_zero._select(0.0, y_safe * x ** (y_safe - 1))

    @staticmethod
    def _dy(x, y, out):
        # NOTE: d(x**y)/dy = x**y * log(x); at x == 0 with y >= 0 the limit is 0, not nan.
        limit = (x == 0) & (y >= 0)
        return limit._select(0.0, out * limit._select(1.0, x).log())


@register
class Maximum(Binary):
    saves = (0, 1)

    def vjp(self, g, x, y, out):
        return _tie_split(g, x > y, x == y)

    def jvp(self, dxs, xs, out):
        return _tie_split_tangent(dxs, xs, xs[0] > xs[1])


@register
class Minimum(Binary):
    saves = (0, 1)

    def vjp(self, g, x, y, out):
        return _tie_split(g, x < y, x == y)

    def jvp(self, dxs, xs, out):
        return _tie_split_tangent(dxs, xs, xs[0] < xs[1])


@register
class Atan2(Binary):
    """out = atan2(x, y) (x is the ordinate, like torch.atan2(input, other))."""

    saves = (0, 1)
    float_only, cost = True, COSTLY_COST

    def vjp(self, g, x, y, out):
        r = g / (x * x + y * y)
        return r * y, -r * x

    def jvp(self, dxs, xs, out):
        (dx, dy), (x, y) = dxs, xs
        r = (x * x + y * y).reciprocal()
        return _sum_tangents(None if dx is None else dx * y * r, None if dy is None else -dy * x * r)


@register
class Fmod(Binary):
    """C fmod: the remainder has the sign of x. d/dx = 1, d/dy = -trunc(x / y)."""

    saves = (0, 1)
    float_only, cost = True, COSTLY_COST

    def vjp(self, g, x, y, out):
        return g, -g * (x / y).trunc()

    def jvp(self, dxs, xs, out):
        (dx, dy), (x, y) = dxs, xs
        return _sum_tangents(dx, None if dy is None else -dy * (x / y).trunc())


@register
class Remainder(Binary):
    """Python modulo: the remainder has the sign of y. d/dx = 1, d/dy = -floor(x / y)."""

    saves = (0, 1)
    float_only, cost = True, COSTLY_COST

    def vjp(self, g, x, y, out):
        return g, -g * (x / y).floor()

    def jvp(self, dxs, xs, out):
        (dx, dy), (x, y) = dxs, xs
        return _sum_tangents(dx, None if dy is None else -dy * (x / y).floor())


@register
class Copysign(Binary):
    """out = |x| with the sign of y (the sign bit: -0.0 counts as negative). d/dx = out / x (0 at x == 0, as in
    PyTorch), d/dy = 0."""

    saves, saves_out = (0,), True
    float_only = True

    def vjp(self, g, x, y, out):
        return g * self._dx(x, out), g.zeros_like()  # y's gradient is an exact zero, as in PyTorch (not None)

    def jvp(self, dxs, xs, out):
        return None if dxs[0] is None else dxs[0] * self._dx(xs[0], out)

    @staticmethod
    def _dx(x, out):
        zero = x == 0
        return zero._select(0.0, out / zero._select(1.0, x))


@register
class Logaddexp(Binary):
    """out = log(exp(x) + exp(y)), without overflow. d/dx = exp(x - out), d/dy = exp(y - out)."""

    saves, saves_out = (0, 1), True
    float_only, cost = True, COSTLY_COST

    def vjp(self, g, x, y, out):
        return g * (x - out).exp(), g * (y - out).exp()

    def jvp(self, dxs, xs, out):
        (dx, dy), (x, y) = dxs, xs
        return _sum_tangents(None if dx is None else dx * (x - out).exp(), None if dy is None else dy * (y - out).exp())


def _sum_tangents(a, b):
    return b if a is None else a if b is None else a + b


def _tie_split(g, x_wins, tie):
    """The maximum/minimum vjp: g to the selected side, g / 2 to each side at ties (as in PyTorch).

    Selected with where, not multiplied by a 0/1 mask, so that the side not selected gets an exact zero even
    where g is inf or nan (sqrt(minimum(0, 1)) has g = inf at x: y must get 0, not 0 * inf = nan)."""
    half = g * 0.5
    gx = tie._select(half, x_wins._select(g, 0.0))
    gy = tie._select(half, x_wins._select(0.0, g))
    return gx, gy


def _tie_split_tangent(dxs, xs, x_wins):
    """The transpose of the maximum/minimum vjp: dx where x is selected, dy where y is, their mean at ties."""
    (dx, dy), (x, y) = dxs, xs
    dx, dy = (d if d is not None else x.zeros_like() for d in (dx, dy))
    return (x == y)._select((dx + dy) * 0.5, x_wins._select(dx, dy))


def _select_tangent(dxs, xs, x_wins):
    dx, dy = (d if d is not None else xs[0].zeros_like() for d in dxs)
    return x_wins._select(dx, dy)


# *** gelu: the activation and its derivative, one primitive each (PyTorch's gelu and gelu_backward) ***
# As a composite, gelu was six primitives forward and twelve backward: eager mode made that many passes over
# memory where these make one each. The second derivative is written with tapegrad ops, so gradients of any order
# still follow.

GELU_APPROXIMATIONS = ("none", "tanh")
GELU_A = 0.044715  # the cubic coefficient of the tanh form
GELU_C = 2.0 * math.sqrt(2.0 / math.pi)  # 0.5 (1 + tanh z) = sigmoid(2z), 2z = x (C + C A x^2)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu_checked(approximate) -> None:
    if approximate not in GELU_APPROXIMATIONS:
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _gelu_second(x, approximate):
    """gelu''(x) in tapegrad ops (so that it differentiates again).

    none: gelu' = Phi + x phi, gelu'' = phi (2 - x^2) with phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
    tanh: gelu = x s with s = sigmoid(w), w = x (C + C A x^2), w' = C + 3 C A x^2; with q = s (1 - s) = s':
    gelu' = s + x q w' and gelu'' = q (2 w' + x (1 - 2 s) w'^2 + 6 C A x^2). 1 - s is sigmoid(-w): in the
    positive tail 1 - s would cancel (to 0 in float32 from x = 5 on, where gelu'' is still 2e-6)."""
    x2 = x * x
    if approximate == "none":
        return (x2 * -0.5).exp() * _INV_SQRT_2PI * (2.0 - x2)
    w = x * (x2 * (GELU_C * GELU_A) + GELU_C)
    s, r = w.sigmoid(), (-w).sigmoid()  # r = 1 - s
    w1 = x2 * (3.0 * GELU_C * GELU_A) + GELU_C
    return s * r * (2.0 * w1 + x * (r - s) * w1 * w1 + x2 * (6.0 * GELU_C * GELU_A))


@register
class Gelu(Unary):
    """out = x Phi(x), Phi the normal CDF by erf (approximate="none"), or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715
    x^3))) ("tanh", computed as x sigmoid(2z), the same function without the cancellation of 1 + tanh z for x < 0),
    as torch.nn.functional.gelu. Its derivative is the primitive gelu_backward."""

    def shape(self, x, *, approximate):
        _gelu_checked(approximate)
        return x

    def vjp(self, g, x, out, *, approximate):
        return (bind(GeluBackward, g, x, approximate=approximate),)

    def jvp(self, dxs, xs, out, *, approximate):
        return bind(GeluBackward, dxs[0], xs[0], approximate=approximate)

    def batch(self, xs, bdims, *, approximate):
        return bind(self, xs[0], approximate=approximate), bdims[0]


@register
class GeluBackward(Binary):
    """out = g * gelu'(x) for gelu with the same `approximate`: gelu's vjp and jvp in one pass (PyTorch's
    gelu_backward(grad, self, approximate)). Its own derivatives use gelu'' (_gelu_second), in tapegrad ops."""

    name = "gelu_backward"
    saves, vjp_needs = (0, 1), True
    float_only, cost = True, COSTLY_COST

    def shape(self, g, x, *, approximate):
        _gelu_checked(approximate)
        return same_shape(self.name, g, x)

    def vjp(self, gg, g, x, out, needs=(True, True), *, approximate):
        return (bind(self, gg, x, approximate=approximate) if needs[0] else None,
                gg * g * _gelu_second(x, approximate) if needs[1] else None)

    def jvp(self, dxs, xs, out, *, approximate):
        (dg, dx), (g, x) = dxs, xs
        return _sum_tangents(None if dg is None else bind(self, dg, x, approximate=approximate),
                             None if dx is None else dx * g * _gelu_second(x, approximate))

    def batch(self, xs, bdims, *, approximate):
        return batching.elementwise(self, xs, bdims, approximate=approximate)


# *** comparisons and bit/logic ops: outputs carry no gradient ***


class NonDiff(Primitive):
    differentiable = False

    def vjp(self, g, *xs, out, **params):
        return (None,) * len(xs)

    def jvp(self, dxs, xs, out, **params):
        return None


class Compare(NonDiff):
    family, fusable = BINARY, True

    def shape(self, x, y):
        return AVal(same_shape(self.name, x, y).shape, dt.bool_)

    def batch(self, xs, bdims):
        return batching.elementwise(self, xs, bdims)


for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    register(type(_name.capitalize(), (Compare,), {"name": _name}))


class Bitwise(NonDiff):
    family, fusable = BINARY, True

    def shape(self, x, y):
        a = same_shape(self.name, x, y)
        if a.dtype.is_floating_point:
            raise TypeError(f"{self.name}: not defined for floating dtype {a.dtype.name}; use bool or integer tensors")
        return a

    def batch(self, xs, bdims):
        return batching.elementwise(self, xs, bdims)


for _name in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"):
    register(type("".join(p.capitalize() for p in _name.split("_")), (Bitwise,), {"name": _name}))


@register
class BitwiseNot(NonDiff):
    name = "bitwise_not"
    family, fusable = UNARY, True

    def shape(self, x):
        if x.dtype.is_floating_point:
            raise TypeError(f"bitwise_not: not defined for floating dtype {x.dtype.name}; use bool or integer tensors")
        return x

    def batch(self, xs, bdims):
        return bind(self, xs[0]), bdims[0]


class Classify(NonDiff):
    family, fusable, float_only = UNARY, True, True  # isnan, isinf: float input, bool output

    def shape(self, x):
        return AVal(x.shape, dt.bool_)

    def batch(self, xs, bdims):
        return bind(self, xs[0]), bdims[0]


for _name in ("isnan", "isinf"):
    register(type(_name.capitalize(), (Classify,), {"name": _name}))


# *** selection and conversion ***


@register
class Where(Primitive):
    """out = x where cond else y; cond is a bool tensor of the same shape (not differentiable)."""

    saves = (0,)
    family, fusable = SELECT, True

    def shape(self, cond, x, y):
        return same_shape("where", AVal(cond.shape, x.dtype), x, y)

    def vjp(self, g, cond, x, y, out):
        zero = g.zeros_like()
        return None, cond._select(g, zero), cond._select(zero, g)

    def jvp(self, dxs, xs, out):
        _, dx, dy = dxs
        cond, x, y = xs
        return _select_tangent((dx, dy), (x, y), cond)

    def batch(self, xs, bdims):
        return batching.elementwise(self, xs, bdims)


@register
class Cast(Primitive):
    """Converts to params['dtype']; gradients flow back only between floating dtypes."""

    family, fusable = UNARY, True

    def shape(self, x, *, dtype):
        return AVal(x.shape, dtype)

    def vjp(self, g, x, out, *, dtype):
        return (g.to(x.dtype) if x.dtype.is_floating_point and dtype.is_floating_point else None,)

    def jvp(self, dxs, xs, out, *, dtype):
        return dxs[0].to(dtype) if dtype.is_floating_point else None

    def batch(self, xs, bdims, *, dtype):
        return bind(self, xs[0], dtype=dtype), bdims[0]
