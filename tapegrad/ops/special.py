"""Special-function composites: the gamma family, erfinv / erfcx / ndtri, the modified Bessel functions,
zeta, xlogy and friends (torch.special's names live in tapegrad/special.py; PyTorch's top-level ones here).

The primitives are in primitives/special.py; everything else is composed, with masked branches evaluated at
safe points so that no nan leaks into a gradient.
"""

from __future__ import annotations

import math

from .. import dtype as dt
from ..primitives import bind
from ..primitives import special as P
from .elementwise import (binary, erfc, isnan, log, log1p, logical_and, logical_not, mul, sin,
                          unary_float, where)
from ..tensor import Tensor


def _float(x: Tensor) -> Tensor:
    return x if x.dtype.category == dt.FLOAT else x.to(dt.get_default_dtype())


def lgamma(x):
    """log |Gamma(x)|, as torch.lgamma; the gradient is digamma.

    >>> tg.lgamma(tg.tensor([0.5, 1.0, 3.0, 10.0]))
    tensor([ 0.5724,  0.    ,  0.6931, 12.8018])
    """
    return unary_float(P.Lgamma, x)


def digamma(x):
    """The logarithmic derivative of Gamma, as torch.digamma (-inf at 0, nan at negative integers).

    >>> tg.digamma(tg.tensor([1.0, 2.0, 0.5]))
    tensor([-0.5772,  0.4228, -1.9635])
    """
    return bind(P.Polygamma, _float(x), n=0)


def polygamma(n, x):
    """The n-th derivative of digamma, as torch.polygamma(n, input) (note the order).

    >>> tg.polygamma(1, tg.tensor([1.0, 2.0]))
    tensor([1.6449, 0.6449])
    """
    if isinstance(n, Tensor):
        n = n.item()
    if int(n) != n or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative integer, got {n!r}")
    return bind(P.Polygamma, _float(x), n=int(n))


def _polygamma_method(x, n):
    """x.polygamma(n): the method puts the tensor first, as torch.Tensor.polygamma."""
    return polygamma(n, x)


def mvlgamma(x, p):
    """The multivariate log-gamma of dimension p, as torch.mvlgamma: sum_j lgamma(x - j/2) + p(p-1)/4 log(pi).

    >>> tg.mvlgamma(tg.tensor([2.5, 3.0]), 2)
    tensor([0.857 , 1.5502])
    """
    if int(p) != p or p < 1:
        raise ValueError(f"mvlgamma: p must be a positive integer, got {p!r}")
    x = _float(x)
    out = lgamma(x)
    for j in range(1, int(p)):
        out = out + lgamma(x - j / 2)
    return out + p * (p - 1) / 4 * math.log(math.pi)


def erfinv(x):
    """The inverse of erf on (-1, 1) (+-inf at +-1, nan outside), as torch.erfinv.

    >>> tg.erfinv(tg.tensor([0.0, 0.5, -0.9]))
    tensor([ 0.    ,  0.4769, -1.1631])
    """
    return unary_float(P.Erfinv, x)


def erfcx(x):
    """The scaled complementary error function exp(x^2) erfc(x), accurate where erfc underflows.

    >>> tg.special.erfcx(tg.tensor([0.0, 1.0, 30.0]))
    tensor([1.    , 0.4276, 0.0188])
    """
    return unary_float(P.Erfcx, x)


def ndtr(x):
    """The standard normal CDF, as torch.special.ndtr.

    >>> tg.special.ndtr(tg.tensor([-1.0, 0.0, 2.0]))
    tensor([0.1587, 0.5   , 0.9772])
    """
    x = _float(x)
    return erfc(mul(x, -1 / math.sqrt(2))) * 0.5


def ndtri(p):
    """The standard normal quantile (the inverse of ndtr), as torch.special.ndtri.

    >>> tg.special.ndtri(tg.tensor([0.025, 0.5, 0.975]))
    tensor([-1.96,  0.  ,  1.96])
    """
    return unary_float(P.Ndtri, p)


def log_ndtr(x):
    """log(ndtr(x)), precise in both tails (through erfcx below -1), as torch.special.log_ndtr.

    >>> tg.special.log_ndtr(tg.tensor([-40.0, 0.0, 5.0]))
    tensor([-804.6085,   -0.6931,   -0.    ])
    """
    x = _float(x)
    low = x < -1
    xl = where(low, x, -1.0)  # each branch evaluated where it is finite: no nan in the masked gradient
    xh = where(low, 0.0, x)
    t = xl * (-1 / math.sqrt(2))
    left = log(unary_float(P.Erfcx, t) * 0.5) - t * t
    right = log1p(erfc(xh * (1 / math.sqrt(2))) * -0.5)
    return where(low, left, right)


def i0(x):
    """The modified Bessel function of the first kind, order 0, as torch.i0.

    >>> tg.i0(tg.tensor([0.0, 1.0, -2.0]))
    tensor([1.    , 1.2661, 2.2796])
    """
    return unary_float(P.I0, x)


def i0e(x):
    """i0(x) * exp(-|x|), as torch.special.i0e.

    >>> tg.special.i0e(tg.tensor([0.0, 1.0, 100.0]))
    tensor([1.    , 0.4658, 0.0399])
    """
    return unary_float(P.I0e, x)


def i1(x):
    """The modified Bessel function of the first kind, order 1 (odd), as torch.special.i1.

    >>> tg.special.i1(tg.tensor([0.0, 1.0, -2.0]))
    tensor([ 0.    ,  0.5652, -1.5906])
    """
    return unary_float(P.I1, x)


def i1e(x):
    """i1(x) * exp(-|x|), as torch.special.i1e.

    >>> tg.special.i1e(tg.tensor([0.0, 1.0, -100.0]))
    tensor([ 0.    ,  0.2079, -0.0397])
    """
    return unary_float(P.I1e, x)


def zeta(x, q):
    """The Hurwitz zeta function sum_k (k + q)^-x, as torch.special.zeta (differentiable in q).

    >>> tg.special.zeta(tg.tensor([2.0, 4.0]), 1.0)
    tensor([1.6449, 1.0823])
    """
    return binary(P.Zeta, x, q, float_math=True)


def gammainc(a, x):
    """The regularized lower incomplete gamma function P(a, x), as torch.special.gammainc (differentiable in x).

    >>> tg.special.gammainc(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 3.0]))
    tensor([0.6321, 0.8009])
    """
    return binary(P.Gammainc, a, x, float_math=True)


def gammaincc(a, x):
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x), as torch.special.gammaincc.

    >>> tg.special.gammaincc(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 3.0]))
    tensor([0.3679, 0.1991])
    """
    return binary(P.Gammaincc, a, x, float_math=True)


def xlogy(x, y):
    """x * log(y), 0 where x == 0 (unless y is nan), as torch.xlogy.

    >>> tg.xlogy(tg.tensor([0.0, 2.0, 3.0]), tg.tensor([0.0, 1.0, 2.0]))
    tensor([0.    , 0.    , 2.0794])
    """
    return _x_times(log, x, y)


def xlog1py(x, y):
    """x * log1p(y), 0 where x == 0 (unless y is nan), as torch.special.xlog1py.

    >>> tg.special.xlog1py(tg.tensor([0.0, 2.0]), tg.tensor([-1.0, 1.0]))
    tensor([0.    , 1.3863])
    """
    return _x_times(log1p, x, y)


def _x_times(fn, x, y):
    x, y = _binary_operands(x, y)
    zero = logical_and(x == 0, logical_not(isnan(y)))
    # NOTE: fn reads 1 where x == 0 (log1p reads 0), so 0 * log(0) never makes the masked gradient nan
    safe_y = where(zero, 1.0 if fn is log else 0.0, y)
    return where(zero, 0.0, x * fn(safe_y))


def _binary_operands(x, y):
    """x and y promoted to one floating dtype and broadcast (both as tensors)."""
    from .elementwise import _as_operand, _broadcast

    d = dt.result_type(x, y)
    d = d if d.category == dt.FLOAT else dt.get_default_dtype()
    return _broadcast("special", _as_operand(x, d), _as_operand(y, d))


def entr(x):
    """-x log(x) for x > 0, 0 at 0 and -inf below, as torch.special.entr.

    >>> tg.special.entr(tg.tensor([0.0, 0.5, 1.0, -1.0]))
    tensor([ 0.    ,  0.3466, -0.    ,    -inf])
    """
    x = _float(x)
    pos = x > 0
    safe = where(pos, x, 1.0)
    return where(pos, -safe * log(safe), where(x == 0, 0.0, where(isnan(x), x, -math.inf)))


def sinc(x):
    """The normalised sinc sin(pi x) / (pi x), 1 at 0, as torch.sinc.

    >>> tg.sinc(tg.tensor([0.0, 0.5, 1.0]))
    tensor([ 1.    ,  0.6366, -0.    ])
    """
    x = _float(x)
    zero = x == 0
    t = where(zero, 1.0, x) * math.pi
    return where(zero, 1.0, sin(t) / t)


def gammaln(x):
    """torch.special.gammaln: lgamma.

    >>> tg.special.gammaln(tg.tensor([4.0]))
    tensor([1.7918])
    """
    return lgamma(x)


def multigammaln(x, p):
    """torch.special.multigammaln: mvlgamma.

    >>> tg.special.multigammaln(tg.tensor([2.5]), 2)
    tensor([0.857])
    """
    return mvlgamma(x, p)


# torch's top-level names (tg.lgamma, ...); the rest are torch.special's only (tapegrad/special.py)
__all__ = ["lgamma", "digamma", "polygamma", "mvlgamma", "erfinv", "i0", "xlogy", "sinc", "igamma", "igammac"]

igamma, igammac = gammainc, gammaincc  # torch.igamma / torch.igammac

# Tensor methods: tensor.name(...) == name(tensor, ...) (attached by ops/__init__.py)
_METHODS = """lgamma digamma erfinv i0 sinc xlogy mvlgamma igamma igammac"""
_INPLACE = """lgamma digamma erfinv i0 sinc xlogy mvlgamma igamma igammac"""


# *** orthogonal polynomials by their three-term recurrences (torch.special's *_polynomial_*(input, n)) ***

# name: (p_1 as a function of x, the recurrence p_{k+1} = f(x, k, p_k, p_{k-1}))
_RECURRENCES = {
    "chebyshev_polynomial_t": (lambda x: x, lambda x, k, p, q: 2 * x * p - q),
    "chebyshev_polynomial_u": (lambda x: 2 * x, lambda x, k, p, q: 2 * x * p - q),
    "chebyshev_polynomial_v": (lambda x: 2 * x - 1, lambda x, k, p, q: 2 * x * p - q),
    "chebyshev_polynomial_w": (lambda x: 2 * x + 1, lambda x, k, p, q: 2 * x * p - q),
    "hermite_polynomial_h": (lambda x: 2 * x, lambda x, k, p, q: 2 * x * p - 2 * k * q),
    "hermite_polynomial_he": (lambda x: x, lambda x, k, p, q: x * p - k * q),
    "laguerre_polynomial_l": (lambda x: 1 - x, lambda x, k, p, q: ((2 * k + 1 - x) * p - k * q) / (k + 1)),
    "legendre_polynomial_p": (lambda x: x, lambda x, k, p, q: ((2 * k + 1) * x * p - k * q) / (k + 1)),
}


def _polynomial(kind, x, n, shifted=False):
    """p_n(x) elementwise (0 where n < 0), n a non-negative integer or an integer tensor broadcast with x."""
    from .elementwise import _as_operand, _broadcast

    x = _float(x if isinstance(x, Tensor) else _as_operand(x, dt.result_type(x)))
    n = n if isinstance(n, Tensor) else _as_operand(n, dt.int64)
    if n.dtype.category == dt.FLOAT:
        n = n.to(dt.int64)
    x, n = _broadcast(kind, x, n.to(x.dtype))
    if shifted:
        x = 2 * x - 1
    first, step = _RECURRENCES[kind]
    top = int(n.max().item()) if n.numel() else 0
    prev, cur = x * 0 + 1, first(x)
    out = where(n == 0, prev, 0.0)
    for k in range(1, top + 1):
        out = where(n == k, cur, out)
        if k < top:
            prev, cur = cur, step(x, k, cur, prev)
    return out


def _make_polynomial(kind, shifted=False):
    name = ("shifted_" if shifted else "") + kind

    def polynomial(input, n):
        return _polynomial(kind, input, n, shifted)

    polynomial.__name__ = polynomial.__qualname__ = name
    polynomial.__doc__ = f"torch.special.{name}(input, n): the degree-n polynomial at input, by its recurrence."
    return polynomial


POLYNOMIALS = {f.__name__: f for f in [_make_polynomial(k) for k in _RECURRENCES] + [
    _make_polynomial(k, shifted=True) for k in _RECURRENCES if k.startswith("chebyshev")]}


def spherical_bessel_j0(x):
    """sin(x) / x, 1 at 0 (the spherical Bessel function of the first kind, order 0).

    >>> tg.special.spherical_bessel_j0(tg.tensor([0.0, 3.14159265]))
    tensor([ 1., -0.])
    """
    x = _float(x)
    zero = x == 0
    safe = where(zero, 1.0, x)
    return where(zero, 1.0, sin(safe) / safe)
