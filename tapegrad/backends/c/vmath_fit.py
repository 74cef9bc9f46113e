"""Where the polynomial coefficients of vmath.py come from: a Remez exchange in mpmath.

A developer tool, not imported by tapegrad (it needs mpmath). Run it to re-derive every table:

    python -m tapegrad.backends.c.vmath_fit

Each fit minimises max |w(x) * (g(x) - sum_i c_i * x**p_i)| over [a, b], the textbook Remez exchange for a
weighted Chebyshev approximation with the powers p_i as basis. g and w are evaluated at 100 digits; the
printed coefficients are rounded to the target C type (float or double) and the error reported is that of
the rounded polynomial, relative to what the C code needs (see each FITS entry's note).
"""

from __future__ import annotations

import mpmath as mp

mp.mp.dps = 100


def _solve(g, w, powers, points):
    """Coefficients and levelled error E of the polynomial that alternates +-E/w on `points`."""
    n = len(powers)
    a = mp.matrix(n + 1, n + 1)
    rhs = mp.matrix(n + 1, 1)
    for j, x in enumerate(points):
        for i, p in enumerate(powers):
            a[j, i] = x ** p
        a[j, n] = (-1) ** j / w(x)
        rhs[j] = g(x)
    sol = mp.lu_solve(a, rhs)
    return [sol[i] for i in range(n)], sol[n]


def _poly(coeffs, powers, x):
    return mp.fsum(c * x ** p for c, p in zip(coeffs, powers))


def _extrema(err, grid):
    """Grid points where |err| is locally largest, each as (x, err(x)); endpoints included."""
    values = [err(x) for x in grid]
    out = []
    for k, v in enumerate(values):
        left = values[k - 1] if k > 0 else None
        right = values[k + 1] if k + 1 < len(values) else None
        if (left is None or abs(v) >= abs(left)) and (right is None or abs(v) >= abs(right)):
            out.append((grid[k], v))
    return out


def _alternating(extrema, count):
    """`count` extrema with alternating signs, keeping the largest of each same-sign run."""
    runs = []
    for x, v in extrema:
        if runs and (runs[-1][1] > 0) == (v > 0):
            if abs(v) > abs(runs[-1][1]):
                runs[-1] = (x, v)
        else:
            runs.append((x, v))
    while len(runs) > count:  # drop the smaller end point: what remains still alternates
        runs.pop(0 if abs(runs[0][1]) < abs(runs[-1][1]) else -1)
    return [x for x, _ in runs]


def remez(g, w, powers, a, b, iterations=40, grid_size=3000):
    """(coefficients, max weighted error) of the weighted minimax fit of g on [a, b]."""
    a, b = mp.mpf(a), mp.mpf(b)
    n = len(powers)
    points = [(a + b) / 2 - (b - a) / 2 * mp.cos(mp.pi * j / n) for j in range(n + 1)]
    # a grid dense at the ends (Chebyshev spacing), where minimax errors peak
    grid = [(a + b) / 2 - (b - a) / 2 * mp.cos(mp.pi * (k + 0.5) / grid_size) for k in range(grid_size)]
    grid = [a] + grid + [b]
    coeffs, worst = None, None
    for _ in range(iterations):
        coeffs, level = _solve(g, w, powers, points)
        ext = _extrema(lambda x, c=coeffs: w(x) * (g(x) - _poly(c, powers, x)), grid)
        worst = max(abs(v) for _, v in ext)
        new = _alternating(ext, n + 1)
        if len(new) < n + 1 or worst <= abs(level) * (1 + mp.mpf("1e-6")):
            break
        points = new
    return coeffs, worst


def _removable(f):
    """f with its removable singularity at 0 stepped around (the fits divide by powers of x)."""
    return lambda x: f(x if abs(x) > mp.mpf("1e-30") else mp.mpf("1e-30"))


_HALF_LN2 = mp.log(2) / 2
_SQRT2 = mp.sqrt(2)
ERF_SPLIT, ERF_END, ERF_MID = mp.mpf(1), mp.mpf("3.95"), (mp.mpf(1) + mp.mpf("3.95")) / 2


def _exp_tail(r):  # e^r = 1 + r + r^2 * g(r)
    return (mp.exp(r) - 1 - r) / r ** 2


def _log1p_tail(f):  # log1p(f) = f + f^2 * g(f)
    return (mp.log1p(f) - f) / f ** 2


def _atanh_tail(z):  # log1p(f) = 2s + s * z * g(z), s = f / (2 + f), z = s^2 (2 atanh(s) = log1p(f))
    s = mp.sqrt(z)
    return (2 * mp.atanh(s) - 2 * s) / (s * z)


def _erf_small(z):  # erf(a) = a + a * g(a^2): the leading 1 of 2/sqrt(pi) = 1.128... stays exact
    a = mp.sqrt(z)
    return mp.erf(a) / a - 1


def _erfc_log(y):  # erfc(a) = exp(-a^2 + g(a - ERF_MID)): smooth, so a short polynomial fits it
    a = y + ERF_MID
    return mp.log(mp.erfc(a)) + a * a


# name -> (g, weight, number of coefficients, interval, C type, what the error bound means)
FITS = {
    "expf": (_exp_tail, lambda r: 1 / mp.exp(r), 5, (-_HALF_LN2, _HALF_LN2), "float",
             "e^r = 1 + r + r^2 P(r); error of P relative to e^r / r^2"),
    "expm1f": (_exp_tail, lambda r: 1 / mp.exp(r), 6, (-_HALF_LN2, _HALF_LN2), "float",
               "e^r - 1 = r + r^2 P(r); one more term than exp, as r^2 P is relatively larger in e^r - 1"),
    "log1pf": (_log1p_tail, lambda f: 1, 9, (1 / _SQRT2 - 1, _SQRT2 - 1), "float",
               "log1p(f) = f + f^2 P(f) on the mantissa range [sqrt(1/2), sqrt(2)) - 1"),
    "erff_small": (_erf_small, lambda z: 1, 7, (0, ERF_SPLIT ** 2), "float",
                   "erf(a) = a + a P(a^2) for a < 1"),
    "erff_tail": (_erfc_log, lambda y: mp.erfc(y + ERF_MID), 8, (ERF_SPLIT - ERF_MID, ERF_END - ERF_MID), "float",
                  "erf(a) = 1 - exp(-a^2 + P(a - 2.475)) for 1 <= a <= 3.95; error weighted by erfc(a), i.e. absolute"),
    "exp": (_exp_tail, lambda r: 1 / mp.exp(r), 11, (-_HALF_LN2, _HALF_LN2), "double",
            "e^r = 1 + r + r^2 P(r)"),
    "expm1": (_exp_tail, lambda r: 1 / mp.exp(r), 12, (-_HALF_LN2, _HALF_LN2), "double",
              "e^r - 1 = r + r^2 P(r)"),
    "log": (_atanh_tail, lambda z: 1, 7, (0, ((_SQRT2 - 1) / (_SQRT2 + 1)) ** 2), "double",
            "log1p(f) = 2s + s z P(z), s = f / (2 + f), z = s^2, for f in [sqrt(1/2), sqrt(2)) - 1"),
}


def _c_literal(c, ctype: str) -> str:
    import numpy as np

    if ctype == "float":
        return str(np.float32(float(c))) + "f"  # numpy prints the shortest digits that give back this float
    return repr(float(c))


def main():
    for name, (g, w, n, (a, b), ctype, note) in FITS.items():
        coeffs, err = remez(_removable(g), w, list(range(n)), a, b)
        print(f"{name}: {note}\n  max weighted error {mp.nstr(err, 3)} on [{mp.nstr(a, 6)}, {mp.nstr(b, 6)}]")
        print("  " + ", ".join(_c_literal(c, ctype) for c in coeffs))


if __name__ == "__main__":
    main()
