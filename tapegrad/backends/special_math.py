"""Special functions in plain numpy for the numpy backend (scipy is not a dependency of tapegrad).

Vectorised versions of the classical algorithms, in float64 (the numpy backend casts the result back to the
input's dtype). Accuracy, checked against torch.special in tests/ops/test_special.py:
  lgamma       Lanczos (g = 7, 9 terms) with the reflection formula: ~1e-15 absolute
  polygamma    digamma: recurrence up to x >= 10, then the asymptotic series; n >= 1: (-1)^(n+1) n! zeta(n+1, x)
  zeta         Hurwitz zeta by Euler-Maclaurin summation (Cephes' zeta.c): ~1e-15 relative
  erfcx        exp(x^2) erfc(x) with x^2 split exactly for x <= 4, the continued fraction beyond: ~1e-15
  erfinv/ndtri Halley iterations on erf / erfc (through erfcx in the tails, so ndtri(1e-300) is exact too)
  i0e, i1e     the power series for |x| <= 20 (positive terms), the asymptotic expansion beyond: ~1e-15
erf and erfc come from the backend (scipy's when installed, the C library's otherwise).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _sinpi(x):
    """sin(pi x), exact at integers and accurate near them: sin(pi x) = (-1)^n sin(pi (x - n)), n = round(x)."""
    n = np.round(x)
    s = np.sin(np.pi * (x - n))
    return np.where(np.fmod(n, 2.0) == 0, s, -s)


def lgamma(x):
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        small = x < 0.5
        z = np.where(small, -x, x - 1.0)  # lgamma(x) for x < 0.5 from lgamma(1 - x) = lgamma(-x + 1)
        a = np.full_like(z, _LANCZOS[0])
        for i, p in enumerate(_LANCZOS[1:], start=1):
            a = a + p / (z + i)
        t = z + 7.5
        direct = _HALF_LOG_2PI + (z + 0.5) * np.log(t) - t + np.log(a)
        reflected = math.log(math.pi) - np.log(np.abs(_sinpi(x))) - direct
        out = np.where(small, reflected, direct)
        out = np.where((x == 1.0) | (x == 2.0), 0.0, out)  # exact zeros (the series leaves ~1e-16)
        out = np.where((x <= 0) & (x == np.floor(x)), np.inf, out)  # poles
        return np.where(np.isinf(x), np.inf, out)


def digamma(x):
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        neg = x < 0.5
        # reflection: psi(x) = psi(1 - x) - pi / tan(pi x)
        y = np.where(neg, 1.0 - x, x)
        acc = np.zeros_like(y)
        for _ in range(10):  # psi(y) = psi(y + 1) - 1 / y until y >= 10
            low = y < 10
            acc = acc - np.where(low, 1.0 / np.where(low, y, 1.0), 0.0)
            y = np.where(low, y + 1.0, y)
        inv2 = 1.0 / (y * y)
        # asymptotic: log y - 1/(2y) - sum B_2k / (2k y^2k)
        series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132 - inv2 * (
            691 / 32760 - inv2 / 12))))))
        psi = acc + np.log(y) - 0.5 / y - series
        cot = 1.0 / np.tan(np.pi * (x - np.round(x)))  # cot(pi x) has period 1: reduce to [-1/2, 1/2] exactly
        psi = np.where(neg, psi - np.pi * cot, psi)
        integer = x == np.floor(x)
        psi = np.where((x < 0) & integer, np.nan, psi)  # poles of either sign: torch gives nan
        psi = np.where(x == 0, np.copysign(np.inf, -x), psi)  # psi(+-0) = -+inf, as torch
        return np.where(x == np.inf, np.inf, psi)


def _bernoulli_even(count):
    """B_2, B_4, ... B_2count as Fractions (Akiyama-Tanigawa)."""
    out, a = [], []
    for m in range(2 * count + 1):
        a.append(Fraction(1, m + 1))
        for j in range(m, 0, -1):
            a[j - 1] = j * (a[j - 1] - a[j])
        if m >= 2 and m % 2 == 0:
            out.append(a[0])
    return out


# Euler-Maclaurin tail coefficients (2k)! / B_2k, k = 1..12 (Cephes' zeta.c table A)
_ZETA_A = [float(Fraction(math.factorial(2 * k)) / b) for k, b in enumerate(_bernoulli_even(12), start=1)]
_EPS = np.finfo(np.float64).eps


def zeta(x, q):
    """Hurwitz zeta: sum over k >= 0 of (k + q)^-x, for x > 1 (Cephes' algorithm, vectorised)."""
    x, q = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(q, np.float64))
    with np.errstate(all="ignore"):
        s = q ** -x
        a = q.copy()
        b = np.zeros_like(s)
        done = ~np.isfinite(s) | np.isnan(x) | np.isnan(q)
        # direct terms while i < 9 or a <= 9, until a term no longer changes the sum
        i = 0
        while True:
            active = ~done & ((i < 9) | (a <= 9))
            if not active.any():
                break
            a = np.where(active, a + 1.0, a)
            b = np.where(active, a ** -x, b)
            s = np.where(active, s + b, s)
            done = done | (active & (np.abs(b / s) < _EPS))
            i += 1
        w = a
        s = np.where(done, s, s + b * w / (x - 1.0) - 0.5 * b)
        fac = np.ones_like(s)
        k = 0.0
        for coeff in _ZETA_A:
            fac = fac * (x + k)
            b = b / w
            t = fac * b / coeff
            s = np.where(done, s, s + t)
            done = done | (np.abs(t / s) < _EPS)
            k += 1.0
            fac = fac * (x + k)
            b = b / w
            k += 1.0
        out = s
        out = np.where(x == 1.0, np.inf, out)
        out = np.where(x < 1.0, np.nan, out)
        nonpos = q <= 0
        out = np.where(nonpos & (q == np.floor(q)), np.inf, out)
        out = np.where(nonpos & (q != np.floor(q)) & (x != np.floor(x)), np.nan, out)
        return np.where(np.isnan(x) | np.isnan(q), np.nan, out)  # (q ** nan is 1 at q == 1)


def polygamma(n, x):
    if n == 0:
        return digamma(x)
    sign = 1.0 if n % 2 == 1 else -1.0
    return sign * math.factorial(n) * zeta(float(n + 1), x)


# *** error functions ***

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0


def _split_square(x):
    """x * x = hi + lo exactly (Dekker), so exp(x^2) keeps full precision for large x."""
    c = 134217729.0 * x  # 2^27 + 1
    xh = c - (c - x)
    xl = x - xh
    hi = x * x
    lo = ((xh * xh - hi) + 2.0 * xh * xl) + xl * xl
    return hi, lo


def erfcx(x, erfc):
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        hi, lo = _split_square(np.minimum(x, 4.0))
        near = np.exp(hi) * (1.0 + lo) * erfc(np.minimum(x, 4.0))
        near = np.where(x < -26.7, np.inf, near)  # exp(x^2) overflows: erfcx -> inf, as torch
        # continued fraction erfc(x) e^(x^2) sqrt(pi) = 1 / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))),
        # evaluated bottom-up; 60 levels are exact to rounding for x > 4
        xf = np.maximum(x, 4.0)
        f = xf
        for k in range(60, 0, -1):
            f = xf + (k / 2.0) / f
        far = 1.0 / (f * math.sqrt(math.pi))
        return np.where(x > 4.0, far, near)


def _halley(y, delta):
    """One Halley step for erf(y) = t or erfc(y) = t (both have f'' / f' = -2y); delta = f / f'."""
    return y - delta / (1.0 + y * delta)


def _erfinv_small(x, erf):
    """erfinv for |x| <= 0.5, by Halley iterations on erf from the series' first terms."""
    y = _SQRT_PI_OVER_2 * x * (1.0 + (math.pi / 12.0) * x * x)
    for _ in range(3):
        y = _halley(y, (erf(y) - x) / (_TWO_OVER_SQRT_PI * np.exp(-y * y)))
    return y


def _erfcinv_tail(c, erfc):
    """y >= 0 with erfc(y) = c, for 0 <= c <= 0.5: Winitzki's approximation, then Halley steps written with
    erfcx so that they stay exact where exp(-y^2) underflows (c down to the smallest subnormal)."""
    with np.errstate(all="ignore"):
        cs = np.where(c > 0, c, 1.0)
        log_c = np.log(cs)
        a = 0.147
        L = log_c + np.log(2.0 - cs)  # log(1 - x^2) with x = 1 - c
        t = 2.0 / (math.pi * a) + L / 2.0
        y = np.sqrt(np.sqrt(t * t - L / a) - t)
        for _ in range(4):
            # f = erfc(y) - c, f' = -2/sqrt(pi) e^(-y^2): f / f' = (sqrt(pi)/2) (c e^(y^2) - erfcx(y))
            delta = _SQRT_PI_OVER_2 * (np.exp(log_c + y * y) - erfcx(y, erfc))
            y = _halley(y, delta)
        return np.where(c > 0, y, np.inf)


def erfinv(x, erf, erfc):
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        ax = np.abs(x)
        small = _erfinv_small(np.where(ax <= 0.5, x, 0.0), erf)
        tail = np.copysign(_erfcinv_tail(np.where(ax > 0.5, 1.0 - np.minimum(ax, 1.0), 0.5), erfc), x)
        out = np.where(ax <= 0.5, small, tail)
        return np.where((ax > 1.0) | np.isnan(x), np.nan, out)


def ndtri(p, erf, erfc):
    """The standard normal quantile: -sqrt(2) erfcinv(2p), every branch on an argument computed exactly."""
    p = np.asarray(p, np.float64)
    with np.errstate(all="ignore"):
        c = 2.0 * p  # erfc(y) = c with y = -ndtri(p) / sqrt(2)
        mid = (c >= 0.5) & (c <= 1.5)
        y_mid = _erfinv_small(np.where(mid, 1.0 - c, 0.0), erf)  # 1 - c is exact here
        y_low = _erfcinv_tail(np.where(c < 0.5, np.maximum(c, 0.0), 0.5), erfc)
        y_high = -_erfcinv_tail(np.where(c > 1.5, np.maximum(2.0 - c, 0.0), 0.5), erfc)
        y = np.where(mid, y_mid, np.where(c < 0.5, y_low, y_high))
        out = -math.sqrt(2.0) * y + 0.0  # + 0.0: ndtri(0.5) is 0, not -0
        return np.where((p < 0) | (p > 1) | np.isnan(p), np.nan, out)


# *** modified Bessel functions of orders 0 and 1, scaled by exp(-|x|) ***

_BESSEL_SPLIT = 20.0


def _bessel_series(ax, order):
    """I_order(ax) for 0 <= ax <= 20: sum (x^2/4)^k / (k! (k + order)!), times (x/2)^order."""
    q = ax * ax / 4.0
    term = np.ones_like(ax) / math.factorial(order)
    total = term.copy()
    for k in range(1, 60):
        term = term * q / (k * (k + order))
        total = total + term
    return total * (ax / 2.0) ** order


def _bessel_asymptotic(ax, order):
    """I_order(ax) e^(-ax) for ax > 20: 1/sqrt(2 pi x) sum_k (-1)^k prod_j (4 order^2 - (2j-1)^2) / (8 j x)."""
    mu = 4.0 * order * order
    term = np.ones_like(ax)
    total = term.copy()
    for j in range(1, 36):
        term = term * -(mu - (2 * j - 1) ** 2) / (8.0 * j * ax)
        total = total + term
    return total / np.sqrt(2.0 * math.pi * ax)


def bessel_i(x, order, scaled):
    """I_0 / I_1 (scaled: times exp(-|x|))."""
    x = np.asarray(x, np.float64)
    ax = np.abs(x)
    with np.errstate(all="ignore"):
        near = _bessel_series(np.minimum(ax, _BESSEL_SPLIT), order)
        if scaled:
            near = near * np.exp(-np.minimum(ax, _BESSEL_SPLIT))
        far = _bessel_asymptotic(np.maximum(ax, _BESSEL_SPLIT), order)
        if not scaled:
            far = far * np.exp(ax)
        out = np.where(ax <= _BESSEL_SPLIT, near, far)
        out = np.where(np.isinf(ax), 0.0 if scaled else np.inf, out)
    return np.copysign(out, x) if order == 1 else out


# *** regularized incomplete gamma functions (Cephes' igam / igamc, vectorised) ***

_BIG, _BIG_INV = 4503599627370496.0, 2.22044604925031308085e-16


def _igam_series(a, x):
    """P(a, x) by its power series (for x <= max(1, a))."""
    log_front = a * np.log(x) - x - lgamma(a)
    r, c, s = a.copy(), np.ones_like(a), np.ones_like(a)
    done = np.zeros(a.shape, bool)
    for _ in range(4000):
        r = r + 1.0
        c = np.where(done, c, c * x / r)
        s = np.where(done, s, s + c)
        done = done | (c <= _EPS * s)
        if done.all():
            break
    return s * np.exp(log_front) / a


def _igamc_fraction(a, x):
    """Q(a, x) by its continued fraction (for x > max(1, a))."""
    log_front = a * np.log(x) - x - lgamma(a)
    y = 1.0 - a
    z = x + y + 1.0
    c = np.zeros_like(a)
    pkm2, qkm2 = np.ones_like(a), x.copy()
    pkm1, qkm1 = x + 1.0, z * x
    ans = pkm1 / qkm1
    done = np.zeros(a.shape, bool)
    for _ in range(4000):
        c = c + 1.0
        y = y + 1.0
        z = z + 2.0
        yc = y * c
        pk = pkm1 * z - pkm2 * yc
        qk = qkm1 * z - qkm2 * yc
        ok = qk != 0
        r = np.where(ok, pk / np.where(ok, qk, 1.0), ans)
        t = np.where(ok, np.abs((ans - r) / np.where(r != 0, r, 1.0)), 1.0)
        ans = np.where(done, ans, r)
        done = done | (t <= _EPS)
        pkm2, pkm1, qkm2, qkm1 = pkm1, pk, qkm1, qk
        big = np.abs(pk) > _BIG
        pkm2, pkm1, qkm2, qkm1 = (np.where(big, v * _BIG_INV, v) for v in (pkm2, pkm1, qkm2, qkm1))
        if done.all():
            break
    return ans * np.exp(log_front)


def gammainc(a, x, upper=False):
    """P(a, x) (or Q(a, x) = 1 - P with upper): the series where x <= max(1, a), the continued fraction beyond."""
    a, x = (np.array(v, np.float64) for v in np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64)))
    with np.errstate(all="ignore"):
        use_fraction = (x > 1.0) & (x > a)
        safe_a = np.where((a > 0) & np.isfinite(a), a, 1.0)
        safe_x = np.where((x > 0) & np.isfinite(x), x, 1.0)
        p = _igam_series(safe_a, np.where(use_fraction, 1.0, safe_x))
        q = _igamc_fraction(safe_a, np.where(use_fraction, safe_x, 2.0))
        lower = np.where(use_fraction, 1.0 - q, p)
        upper_v = np.where(use_fraction, q, 1.0 - p)
        out = upper_v if upper else lower
        # edges, as torch (Cephes): x == 0 gives P = 0; x == inf gives P = 1; a == 0 with x > 0 gives P = 1;
        # negative a or x, and a == x == 0, give nan
        edge_p = np.where(x == 0, 0.0, np.where(np.isinf(x) | (a == 0), 1.0, np.nan))
        edge = (x == 0) | np.isinf(x) | (a == 0)
        out = np.where(edge, 1.0 - edge_p if upper else edge_p, out)
        bad = (a < 0) | (x < 0) | np.isnan(a) | np.isnan(x) | (np.isinf(a) & ~np.isinf(x)) | ((a == 0) & (x == 0))
        return np.where(bad, np.nan, out)
