"""Vectorisable transcendental functions for the C kernels (float and double), as C source.

libm's expf/tanhf/... are opaque calls, so a loop that uses them runs one element at a time. The functions
here are branch-free inline C (range reduction, a polynomial, selects instead of ifs, 2^n built from its bit
pattern), which gcc vectorises (AVX2 + FMA here: 8 floats or 4 doubles per instruction) inside the kernels'
`#pragma omp simd` loops. No tables, so no gathers.

Accuracy, measured by tests/backends/test_c_math.py against numpy in float64 (for float32) and long double
(for float64): at most 2 ulp everywhere, 1 ulp for exp, log, log1p, cosh and float32 expm1 and erf. Special
values follow numpy: NaN gives NaN, +-inf and overflow give the limits, results that underflow are rounded
once into the subnormals, subnormal inputs are handled exactly, -0.0 keeps its sign where numpy keeps it,
log(0) = -inf and log of a negative number is NaN.

The functions:
- exp, expm1: x = n ln2 + r, |r| <= ln2/2, and e^r - 1 - r as a polynomial in r; then 2^n (1 + ...).
- log, log1p: x = 2^e (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)); log1p(f) as f + f^2 P(f) (float) or as
  2 atanh(f / (2 + f)) (double, where a polynomial in f would need ~40 terms). log1p(x) = log(u) + c / u
  with u = 1 + x rounded and c what the rounding lost; when u is near 1, x goes to the polynomial directly.
- tanh = expm1(2|x|) / (expm1(2|x|) + 2); sigmoid = 1 / (1 + e^-|x|) or e^-|x| / (1 + e^-|x|), so e never
  overflows (carried as e 2^24, 2^54 in double, so that one power of two scales it); sinh and cosh from expm1
  and e^|x| / 2; asinh, acosh, atanh from log and log1p.
- erf (float only): a + a P(a^2) below 1, 1 - exp(-a^2 + Q(a)) from 1 to 3.95 (log erfc + a^2 is smooth).

Techniques, once for all functions:
- n = round(x / ln2) by adding 1.5 * 2^23 (2^52): n lands in the low mantissa bits, so no float -> int
  conversion is needed (AVX2 has none for 64-bit integers). ln2 is split into a short high part (n * hi is
  exact) and a low part (Cody & Waite).
- 2^n is a bit pattern, (n + bias) << mantissa bits. Scaling by 2^n in two halves keeps both factors normal,
  so a result that overflows or is subnormal is rounded once, by the last multiplication.
- Inputs are clamped with `x > hi ? hi : x`, which lets NaN through (comparisons with NaN are false); NaN then
  flows through the arithmetic (the integer parts hold garbage bits, but NaN times anything is NaN). Unsigned
  integer arithmetic keeps those garbage bits free of undefined behaviour.
- The polynomials are minimax fits (Remez exchange in mpmath): vmath_fit.py derives every coefficient below
  and prints its error bound.

Left to libm (one call per element, not vectorised): erf in double, erfc, sin/cos/tan and their inverses,
pow, atan2, fmod. gcc inlines sqrt, fabs, copysign, floor/ceil/trunc/nearbyint as vector instructions.
"""

VMATH = r"""
#include <string.h>
#define TG_INLINE static inline __attribute__((always_inline))

TG_INLINE uint32_t tg_f2u(float x) { uint32_t u; memcpy(&u, &x, sizeof u); return u; }
TG_INLINE float tg_u2f(uint32_t u) { float x; memcpy(&x, &u, sizeof x); return x; }
TG_INLINE uint64_t tg_d2u(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
TG_INLINE double tg_u2d(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }

/* ---- float ---- */

/* p * 2^k for p in [0.5, 2] and k in [-252, 254]: 2^k as two normal factors 2^floor(k/2) * 2^ceil(k/2)
   (k + 256 >= 0, so an unsigned shift divides by two). */
TG_INLINE float tg_ldexpf(float p, uint32_t k) {
    uint32_t kb = k + 256u, h = kb >> 1;
    return p * tg_u2f((h - 1u) << 23) * tg_u2f((kb - h - 1u) << 23);
}

/* x = n ln2 + r: returns r, stores n. For |x| < 2^21. */
TG_INLINE float tg_reducef(float x, uint32_t *n) {
    const float shift = 0x1.8p23f;
    float nf = x * 0x1.715476p+0f + shift; /* round(x / ln2) lands in the low mantissa bits */
    *n = tg_f2u(nf) - tg_f2u(shift);
    nf -= shift;
    return x - nf * 0x1.62e4p-1f - nf * 0x1.7f7d1cp-20f; /* ln2 = hi + lo; n * hi is exact */
}

/* e^x * 2^k for x already clamped to [-104, 90] (NaN passes through). */
TG_INLINE float tg_expf_scaled(float x, uint32_t k) {
    uint32_t n;
    float r = tg_reducef(x, &n);
    float p = 0.0013822003f;
    p = p * r + 0.008362863f;
    p = p * r + 0.0416678f;
    p = p * r + 0.16666579f;
    p = p * r + 0.49999997f;
    return tg_ldexpf(1.0f + (r + r * r * p), n + k);
}

TG_INLINE float tg_expf(float x) {
    x = x > 90.0f ? 90.0f : x;     /* e^89 already overflows to inf */
    x = x < -104.0f ? -104.0f : x; /* e^-104 rounds to 0 */
    return tg_expf_scaled(x, 0);
}

/* e^x - 1 for x already clamped to [-20, 89] (NaN passes through). */
TG_INLINE float tg_expm1f_core(float x) {
    uint32_t n;
    float r = tg_reducef(x, &n);
    float p = 0.00019758673f;
    p = p * r + 0.0013933246f;
    p = p * r + 0.008333509f;
    p = p * r + 0.04166647f;
    p = p * r + 0.16666666f;
    p = p * r + 0.5f;
    float m = r + r * r * p;                  /* e^r - 1 */
    float t = tg_u2f((n + 126u) << 23);       /* 2^(n-1): 2^n itself would overflow at n = 128 */
    float big = 2.0f * (t * m + (t - 0.5f)); /* 2^n (m + 1) - 1 */
    return n == 0 ? m : big; /* halving then doubling a subnormal m would lose its last bit */
}

TG_INLINE float tg_expm1f(float x) {
    float y = x > 89.0f ? 89.0f : x;
    y = y < -20.0f ? -20.0f : y; /* e^-20 - 1 rounds to -1 */
    float r = tg_expm1f_core(y);
    return x == 0.0f ? x : r; /* -0.0 stays -0.0 */
}

/* x = 2^e (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)), for a positive, normal, finite x: returns f
   (exact), stores e as a float. */
TG_INLINE float tg_log_splitf(float x, float *e) {
    uint32_t ix = tg_f2u(x) - 0x3f3504f3u; /* bits of sqrt(1/2): mantissas from it up get exponent 0 */
    *e = (float)((int32_t)ix >> 23);
    return tg_u2f((ix & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
}

/* log1p(f) for f in [sqrt(1/2) - 1, sqrt(2) - 1] */
TG_INLINE float tg_log1pf_poly(float f) {
    float p = -0.08064661f;
    p = p * f + 0.12917872f;
    p = p * f + -0.13072552f;
    p = p * f + 0.14173454f;
    p = p * f + -0.1662892f;
    p = p * f + 0.20002696f;
    p = p * f + -0.2500075f;
    p = p * f + 0.33333313f;
    p = p * f + -0.49999997f;
    return f + f * f * p;
}

/* The answers for x outside (0, inf): log(0) = -inf, log(negative) = NaN, log(inf) = inf, NaN = NaN. */
TG_INLINE float tg_logf_special(float x, float r) {
    r = x < 0.0f ? NAN : r;
    r = x == 0.0f ? -INFINITY : r;
    return x < INFINITY ? r : x;
}

/* log(x) + k ln2 for a positive, normal, finite x */
TG_INLINE float tg_logf_core(float x, float k) {
    float e, f = tg_log_splitf(x, &e);
    e += k;
    return e * 0x1.62e4p-1f + (tg_log1pf_poly(f) + e * 0x1.7f7d1cp-20f); /* ln2 = hi + lo */
}

TG_INLINE float tg_logf(float x) {
    int subnormal = x < 0x1p-126f; /* scaled into the normal range first */
    float r = tg_logf_core(subnormal ? x * 0x1p23f : x, subnormal ? -23.0f : 0.0f);
    return tg_logf_special(x, r);
}

TG_INLINE float tg_log1pf(float x) {
    float u = 1.0f + x, e, f = tg_log_splitf(u, &e);
    float c = u >= 2.0f ? 1.0f - (u - x) : x - (u - 1.0f); /* what rounding 1 + x lost (exact) */
    int near_zero = e == 0.0f; /* x itself is in the polynomial's range: no rounding at all */
    f = near_zero ? x : f;
    c = near_zero ? 0.0f : c;
    /* log(u + c) = log(u) + c / u */
    float r = e * 0x1.62e4p-1f + (tg_log1pf_poly(f) + (e * 0x1.7f7d1cp-20f + c / u));
    r = x == 0.0f ? x : r; /* -0.0 stays -0.0 */
    return tg_logf_special(u, r);
}

TG_INLINE float tg_tanhf(float x) {
    float a = fabsf(x);
    a = a > 9.5f ? 9.5f : a; /* tanh rounds to 1 from 9.01 on */
    float em = tg_expm1f_core(2.0f * a);
    return copysignf(em / (em + 2.0f), x); /* tanh(a) = (e^2a - 1) / (e^2a + 1) */
}

/* sigmoid(x) = 1 / (1 + e) for x >= 0, e / (1 + e) below, e = e^-|x| (never overflows). e is carried as
   E = e 2^24, one normal power of two times the polynomial (for e down to e^-104 ~ 2^-150, where 2^n itself
   would be subnormal), and the quotient as 2^24 / (2^24 + E) or E / (2^24 + E): the same value, rounded once,
   also where it is subnormal. Half the operations of tg_expf_scaled's two-factor scaling, and a sigmoid is on
   the critical path of every gelu and its gradient. */
TG_INLINE float tg_sigmoidf(float x) {
    float na = -fabsf(x);
    na = na < -104.0f ? -104.0f : na;
    uint32_t n;
    float r = tg_reducef(na, &n);
    float p = 0.0013822003f; /* tg_expf_scaled's polynomial */
    p = p * r + 0.008362863f;
    p = p * r + 0.0416678f;
    p = p * r + 0.16666579f;
    p = p * r + 0.49999997f;
    float s = tg_u2f((n + 151u) << 23);   /* 2^(n + 24), n in [-150, 0] */
    float e = s * (r + r * r * p) + s;    /* E = 2^(n + 24) e^r, one rounding (fma) */
    return (x >= 0.0f ? 0x1p24f : e) / (e + 0x1p24f);
}

TG_INLINE float tg_sinhf(float x) {
    float a = fabsf(x);
    a = a > 90.0f ? 90.0f : a;
    float em = tg_expm1f_core(a < 12.0f ? a : 12.0f);
    float small = 0.5f * (em + em / (em + 1.0f)); /* (e^a - e^-a) / 2 without cancellation */
    float big = tg_expf_scaled(a, (uint32_t)-1);            /* e^a / 2, finite up to a = 89.4 (e^-a is below an ulp) */
    return copysignf(a < 12.0f ? small : big, x);
}

TG_INLINE float tg_coshf(float x) {
    float a = fabsf(x);
    a = a > 90.0f ? 90.0f : a;
    float h = tg_expf_scaled(a, (uint32_t)-1); /* e^a / 2 */
    return h + 0.25f / h;
}

TG_INLINE float tg_erff(float x) {
    float a = fabsf(x);
    float z = a * a;
    float s = 7.889124e-05f; /* erf(a) = a P(a^2) for a < 1 */
    s = s * z + -0.0008020842f;
    s = s * z + 0.0051895357f;
    s = s * z + -0.026854444f;
    s = s * z + 0.112836f;
    s = s * z + -0.37612626f;
    s = s * z + 0.12837917f;
    s = a + a * s; /* 2/sqrt(pi) = 1 + 0.128...: the leading 1 stays exact */
    float b = a > 3.95f ? 3.95f : a; /* erf rounds to 1 from 3.92 on */
    float y = b - 2.475f;            /* erfc(b) = exp(-b^2 + Q(b - 2.475)) for 1 <= b <= 3.95 */
    float q = -2.1686747e-05f;
    q = q * y + 6.5612207e-05f;
    q = q * y + -0.00044047146f;
    q = q * y + 0.0022209792f;
    q = q * y + -0.011072865f;
    q = q * y + 0.056930363f;
    q = q * y + -0.3555065f;
    q = q * y + -1.547963f;
    float t = 1.0f - tg_expf_scaled(q - b * b, 0);
    return copysignf(a < 1.0f ? s : t, x);
}

/* atanh(a) = log1p(2a / (1 - a)) / 2, with 2a / (1 - a) written 2a + 2a^2 / (1 - a) below 1/2 so that
   rounding touches only the smaller term; |x| = 1 gives inf and |x| > 1 a log1p argument below -1: NaN */
TG_INLINE float tg_atanhf(float x) {
    float a = fabsf(x);
    int small = a < 0.5f;
    float t = (small ? 2.0f * a : 0.0f) + (small ? 2.0f * a * a : 2.0f * a) / (1.0f - a);
    return copysignf(0.5f * tg_log1pf(t), x);
}

/* asinh(a) = log(a + sqrt(a^2 + 1)): log1p(a + a^2 / (1 + sqrt(a^2 + 1))) up to 2, log(2w) above with
   w = a + 1 / (2 (a + sqrt(a^2 + 1))) (a^2 may overflow to inf there: then w = a, still right) */
TG_INLINE float tg_asinhf(float x) {
    float a = fabsf(x);
    float s = sqrtf(a * a + 1.0f);
    float small = tg_log1pf(a + a * a / (1.0f + s));
    float w = a + 0.5f / (s + a);
    float big = tg_logf_special(w, tg_logf_core(w, 1.0f));
    return copysignf(a <= 2.0f ? small : big, x);
}

/* acosh(x) = log(x + sqrt(x^2 - 1)): log1p(t + sqrt(2t + t^2)), t = x - 1 (exact), up to 2, log(2w) above
   with w = x - 1 / (2 (x + sqrt(x^2 - 1))) */
TG_INLINE float tg_acoshf(float x) {
    float t = x - 1.0f;
    float small = tg_log1pf(t + sqrtf(2.0f * t + t * t));
    float w = x - 0.5f / (x + sqrtf(x * x - 1.0f));
    float big = tg_logf_special(w, tg_logf_core(w, 1.0f));
    float r = x <= 2.0f ? small : big;
    return x < 1.0f ? NAN : r;
}

/* ---- double: the float algorithms with double constants and longer polynomials, except log1p(f), which
   goes through atanh(f / (2 + f)) (a polynomial in f itself would need about 40 terms) ---- */

/* p * 2^k for p in [0.5, 2] and k in [-2044, 2046]. */
TG_INLINE double tg_ldexp(double p, uint64_t k) {
    uint64_t kb = k + 2048u, h = kb >> 1;
    return p * tg_u2d((h - 1u) << 52) * tg_u2d((kb - h - 1u) << 52);
}

TG_INLINE double tg_reduce(double x, uint64_t *n) {
    const double shift = 0x1.8p52;
    double nf = x * 0x1.71547652b82fep+0 + shift;
    *n = tg_d2u(nf) - tg_d2u(shift);
    nf -= shift;
    return x - nf * 0x1.62e42feep-1 - nf * 0x1.a39ef35793c76p-33;
}

/* e^r for |r| <= ln2/2, minus 1 and minus r: the part a polynomial carries. */
TG_INLINE double tg_exp_tail(double r) {
    double p = 2.0825149435040973e-09;
    p = p * r + 2.5104938333301677e-08;
    p = p * r + 2.7557541987440936e-07;
    p = p * r + 2.7557256149392334e-06;
    p = p * r + 2.480158704422321e-05;
    p = p * r + 0.00019841269874149495;
    p = p * r + 0.001388888888900403;
    p = p * r + 0.008333333333326358;
    p = p * r + 0.04166666666666649;
    p = p * r + 0.1666666666666667;
    p = p * r + 0.5;
    return r * r * p;
}

/* e^x * 2^k for x already clamped to [-746, 711] (NaN passes through). */
TG_INLINE double tg_exp_scaled(double x, uint64_t k) {
    uint64_t n;
    double r = tg_reduce(x, &n);
    return tg_ldexp(1.0 + (r + tg_exp_tail(r)), n + k);
}

TG_INLINE double tg_exp(double x) {
    x = x > 711.0 ? 711.0 : x;
    x = x < -746.0 ? -746.0 : x;
    return tg_exp_scaled(x, 0);
}

/* e^x - 1 for x already clamped to [-40, 710] (NaN passes through). */
TG_INLINE double tg_expm1_core(double x) {
    uint64_t n;
    double r = tg_reduce(x, &n);
    double p = 1.6022342080080573e-10;
    p = p * r + 2.0917936958842365e-09;
    p = p * r + 2.505228306205566e-08;
    p = p * r + 2.7557263878969666e-07;
    p = p * r + 2.755731899318002e-06;
    p = p * r + 2.4801587335815107e-05;
    p = p * r + 0.00019841269841396416;
    p = p * r + 0.0013888888888879342;
    p = p * r + 0.008333333333333305;
    p = p * r + 0.04166666666666668;
    p = p * r + 0.16666666666666666;
    p = p * r + 0.5;
    double m = r + r * r * p;
    double t = tg_u2d((n + 1022u) << 52); /* 2^(n-1) */
    double big = 2.0 * (t * m + (t - 0.5));
    return n == 0 ? m : big;
}

TG_INLINE double tg_expm1(double x) {
    double y = x > 710.0 ? 710.0 : x;
    y = y < -40.0 ? -40.0 : y;
    double r = tg_expm1_core(y);
    return x == 0.0 ? x : r;
}

TG_INLINE double tg_log_split(double x, double *e) {
    const double shift = 0x1.8p52;
    uint64_t ix = tg_d2u(x) - 0x3fe6a09e667f3bcdull;
    /* the signed exponent floor(ix / 2^52): ix + 2^62 is nonnegative, and adding it to shift's bits
       turns it into a double without a 64-bit int -> double conversion (AVX2 has none) */
    *e = tg_u2d(((ix + (1ull << 62)) >> 52) + (tg_d2u(shift) - 1024u)) - shift;
    return tg_u2d((ix & 0x000fffffffffffffull) + 0x3fe6a09e667f3bcdull) - 1.0;
}

/* log1p(f) - f for f in [sqrt(1/2) - 1, sqrt(2) - 1], through s = f / (2 + f): log1p(f) = 2 atanh(s) */
TG_INLINE double tg_log1p_tail(double f) {
    double s = f / (2.0 + f), z = s * s;
    double p = 0.14617736731609218;
    p = p * z + 0.15331607972241243;
    p = p * z + 0.1818289288695072;
    p = p * z + 0.22222211077402731;
    p = p * z + 0.28571428626371237;
    p = p * z + 0.39999999999898506;
    p = p * z + 0.666666666666667;
    double hf2 = 0.5 * f * f;
    /* 2 atanh(s) = 2s + s z P(z), and 2s = f - s f = f - hf2 + s hf2 */
    return s * (hf2 + z * p) - hf2;
}

TG_INLINE double tg_log_special(double x, double r) {
    r = x < 0.0 ? NAN : r;
    r = x == 0.0 ? -INFINITY : r;
    return x < INFINITY ? r : x;
}

/* log(x) + k ln2 for a positive, normal, finite x */
TG_INLINE double tg_log_core(double x, double k) {
    double e, f = tg_log_split(x, &e);
    e += k;
    return e * 0x1.62e42feep-1 + ((tg_log1p_tail(f) + e * 0x1.a39ef35793c76p-33) + f);
}

TG_INLINE double tg_log(double x) {
    int subnormal = x < 0x1p-1022;
    double r = tg_log_core(subnormal ? x * 0x1p52 : x, subnormal ? -52.0 : 0.0);
    return tg_log_special(x, r);
}

TG_INLINE double tg_log1p(double x) {
    double u = 1.0 + x, e, f = tg_log_split(u, &e);
    double c = u >= 2.0 ? 1.0 - (u - x) : x - (u - 1.0);
    int near_zero = e == 0.0;
    f = near_zero ? x : f;
    c = near_zero ? 0.0 : c;
    double r = e * 0x1.62e42feep-1 + ((tg_log1p_tail(f) + (e * 0x1.a39ef35793c76p-33 + c / u)) + f);
    r = x == 0.0 ? x : r;
    return tg_log_special(u, r);
}

TG_INLINE double tg_tanh(double x) {
    double a = fabs(x);
    a = a > 22.0 ? 22.0 : a; /* tanh rounds to 1 from 19.06 on */
    double em = tg_expm1_core(2.0 * a);
    return copysign(em / (em + 2.0), x);
}

/* tg_sigmoidf's scheme with E = e 2^54 (n goes down to -1076 at -746) */
TG_INLINE double tg_sigmoid(double x) {
    double na = -fabs(x);
    na = na < -746.0 ? -746.0 : na;
    uint64_t n;
    double r = tg_reduce(na, &n);
    double s = tg_u2d((n + 1077u) << 52); /* 2^(n + 54), n in [-1076, 0] */
    double e = s * (r + tg_exp_tail(r)) + s;
    return (x >= 0.0 ? 0x1p54 : e) / (e + 0x1p54);
}

TG_INLINE double tg_sinh(double x) {
    double a = fabs(x);
    a = a > 711.0 ? 711.0 : a;
    double em = tg_expm1_core(a < 20.0 ? a : 20.0);
    double small = 0.5 * (em + em / (em + 1.0));
    double big = tg_exp_scaled(a, (uint64_t)-1);
    return copysign(a < 20.0 ? small : big, x);
}

TG_INLINE double tg_cosh(double x) {
    double a = fabs(x);
    a = a > 711.0 ? 711.0 : a;
    double h = tg_exp_scaled(a, (uint64_t)-1);
    return h + 0.25 / h;
}

TG_INLINE double tg_atanh(double x) {
    double a = fabs(x);
    int small = a < 0.5;
    double t = (small ? 2.0 * a : 0.0) + (small ? 2.0 * a * a : 2.0 * a) / (1.0 - a);
    return copysign(0.5 * tg_log1p(t), x);
}

TG_INLINE double tg_asinh(double x) {
    double a = fabs(x);
    double s = sqrt(a * a + 1.0);
    double small = tg_log1p(a + a * a / (1.0 + s));
    double w = a + 0.5 / (s + a);
    double big = tg_log_special(w, tg_log_core(w, 1.0));
    return copysign(a <= 2.0 ? small : big, x);
}

TG_INLINE double tg_acosh(double x) {
    double t = x - 1.0;
    double small = tg_log1p(t + sqrt(2.0 * t + t * t));
    double w = x - 0.5 / (x + sqrt(x * x - 1.0));
    double big = tg_log_special(w, tg_log_core(w, 1.0));
    double r = x <= 2.0 ? small : big;
    return x < 1.0 ? NAN : r;
}
"""
