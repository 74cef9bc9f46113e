"""Scalar C: the prelude of helper functions and the op -> C-expression tables that kernels are written in.

render.py builds loops around these expressions; this file decides how one element of one primitive is computed: a vectorisable inline function from vmath.py (exp, log,
tanh, sigmoid, erf, ...), a libm call (the functions vmath.py does not cover) or a plain operator.
"""

from __future__ import annotations

import math

import numpy as np

from .vmath import VMATH

# dtypes a kernel computes in, and their C types (float16/bfloat16 and complex stay on numpy)
CTYPES = {"float32": "float", "float64": "double", "bool": "unsigned char", "int32": "int32_t", "int64": "int64_t"}

PRELUDE = """#include <math.h>
#include <stdint.h>
""" + VMATH + """
/* no vector version (yet): libm, one element at a time */
TG_INLINE double tg_erf(double x) { return erf(x); }
TG_INLINE float tg_remf(float a, float b) { float r = fmodf(a, b); return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r; }
TG_INLINE double tg_rem(double a, double b) { double r = fmod(a, b); return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r; }
/* gelu and gelu_backward (primitives/elementwise.py Gelu): x Phi(x) by erf; the tanh form as x sigmoid(w) with
   w = x (C + C A x^2), C = 2 sqrt(2/pi), A = 0.044715 (0.5 (1 + tanh(w / 2)) = sigmoid(w)); their derivatives
   Phi + x phi and s + x s (1 - s) w', times the incoming gradient g */
TG_INLINE float tg_gelu_erff(float x) { return x * 0.5f * (1.0f + tg_erff(x * 0.7071067811865475f)); }
TG_INLINE double tg_gelu_erf(double x) { return x * 0.5 * (1.0 + tg_erf(x * 0.7071067811865475)); }
TG_INLINE float tg_gelu_tanhf(float x) { return x * tg_sigmoidf(x * (x * x * 0.07135481627260025f + 1.5957691216057308f)); }
TG_INLINE double tg_gelu_tanh(double x) { return x * tg_sigmoid(x * (x * x * 0.07135481627260025 + 1.5957691216057308)); }
TG_INLINE float tg_gelu_backward_erff(float g, float x) {
    return g * (0.5f * (1.0f + tg_erff(x * 0.7071067811865475f)) + x * (tg_expf(x * x * -0.5f) * 0.3989422804014327f));
}
TG_INLINE double tg_gelu_backward_erf(double g, double x) {
    return g * (0.5 * (1.0 + tg_erf(x * 0.7071067811865475)) + x * (tg_exp(x * x * -0.5) * 0.3989422804014327));
}
TG_INLINE float tg_gelu_backward_tanhf(float g, float x) {
    float x2 = x * x, s = tg_sigmoidf(x * (x2 * 0.07135481627260025f + 1.5957691216057308f));
    return g * (s + x * (s * (1.0f - s)) * (x2 * 0.21406444881780076f + 1.5957691216057308f));
}
TG_INLINE double tg_gelu_backward_tanh(double g, double x) {
    double x2 = x * x, s = tg_sigmoid(x * (x2 * 0.07135481627260025 + 1.5957691216057308));
    return g * (s + x * (s * (1.0 - s)) * (x2 * 0.21406444881780076 + 1.5957691216057308));
}
"""

# name -> C template over {0}, {1}, {2}; "{f}" is the float32 suffix ("f" for float, "" for double). tg_* are
# the vectorisable functions of vmath.py (plus tg_erf, tg_rem); the rest are libm calls.
MATH = {"exp": "tg_exp{f}({0})", "expm1": "tg_expm1{f}({0})", "log": "tg_log{f}({0})", "log1p": "tg_log1p{f}({0})",
        "sinh": "tg_sinh{f}({0})", "cosh": "tg_cosh{f}({0})", "tanh": "tg_tanh{f}({0})",
        "asinh": "tg_asinh{f}({0})", "acosh": "tg_acosh{f}({0})", "atanh": "tg_atanh{f}({0})",
        "sigmoid": "tg_sigmoid{f}({0})", "erf": "tg_erf{f}({0})", "remainder": "tg_rem{f}({0}, {1})",
        # libm; gcc inlines sqrt, floor, ceil, nearbyint and trunc as vector instructions
        "sqrt": "sqrt{f}({0})", "sin": "sin{f}({0})", "cos": "cos{f}({0})", "tan": "tan{f}({0})",
        "asin": "asin{f}({0})", "acos": "acos{f}({0})", "atan": "atan{f}({0})", "erfc": "erfc{f}({0})",
        "floor": "floor{f}({0})", "ceil": "ceil{f}({0})", "round": "nearbyint{f}({0})", "trunc": "trunc{f}({0})",
        "pow": "pow{f}({0}, {1})", "copysign": "copysign{f}({0}, {1})",
        # equal arguments (infinities included) give x + log 2; otherwise max + log1p(exp(-|x - y|))
        "logaddexp": "(({0}) == ({1}) ? ({0}) + 0.6931471805599453{f} : ((({0}) > ({1}) ? ({0}) : ({1})) + "
                     "tg_log1p{f}(tg_exp{f}(-fabs{f}(({0}) - ({1}))))))", "atan2": "atan2{f}({0}, {1})", "fmod": "fmod{f}({0}, {1})",
        "isnan": "({0} != {0})", "isinf": "(isinf({0}) != 0)"}
PLAIN = {"neg": "(-{0})", "add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "div": "({0} / {1})",
         "eq": "({0} == {1})", "ne": "({0} != {1})", "lt": "({0} < {1})", "le": "({0} <= {1})", "gt": "({0} > {1})",
         "ge": "({0} >= {1})", "bitwise_and": "({0} & {1})", "bitwise_or": "({0} | {1})", "bitwise_xor": "({0} ^ {1})",
         "where": "({0} ? {1} : {2})",
         # NaN propagates through maximum/minimum as in numpy
         "maximum": "(({0} != {0} || {0} > {1}) ? {0} : {1})", "minimum": "(({0} != {0} || {0} < {1}) ? {0} : {1})",
         "sign": "(({0} > 0) ? 1 : (({0} < 0) ? -1 : {0}))",
         # PyTorch's results where C leaves shifts undefined: a count < 0 or >= the bit width gives 0 (left) or
         # the sign fill (right); the left shift goes through uint64_t so that a negative x wraps instead
         "bitwise_left_shift": "((({1}) < 0 || ({1}) >= 8 * (long)sizeof({0})) ? 0 : (((uint64_t)({0})) << ({1})))",
         "bitwise_right_shift": "((({1}) < 0 || ({1}) >= 8 * (long)sizeof({0})) ? (({0}) < 0 ? -1 : 0) : "
                                "(({0}) >> ({1})))"}


# Templates chosen by a param of the equation: name -> (param, {value: template}), as MATH's
BY_PARAM = {"gelu": ("approximate", {"none": "tg_gelu_erf{f}({0})", "tanh": "tg_gelu_tanh{f}({0})"}),
            "gelu_backward": ("approximate", {"none": "tg_gelu_backward_erf{f}({0}, {1})",
                                              "tanh": "tg_gelu_backward_tanh{f}({0}, {1})"})}
SPECIAL = ("cast", "abs", "bitwise_not")  # written per dtype in expr() below


def has_template(name: str) -> bool:
    """Whether a fusable elementwise primitive has a C template here (tests/backends/test_registry.py checks each)."""
    return name in MATH or name in PLAIN or name in SPECIAL or name in BY_PARAM


def template_params(name: str) -> list:
    """The params that select among a primitive's templates, one dict per template ([{}] when there is one)."""
    if name not in BY_PARAM:
        return [{}]
    param, table = BY_PARAM[name]
    return [{param: value} for value in table]


def expr(e, args: list) -> str:
    """The C expression of one elementwise equation over the C expressions of its inputs."""
    name, out = e.prim.name, e.outputs[0].dtype.name
    if name == "cast":
        src = e.inputs[0].dtype.name
        if out == "bool":
            return f"({args[0]} != 0)"
        return f"(({CTYPES[out]}){args[0]})" if src != "bool" else f"(({CTYPES[out]})({args[0]} != 0))"
    if name == "abs":
        if out == "bool":  # |b| = b (a `< 0` test of an unsigned char is a compiler warning)
            return args[0]
        return f"fabs{'f' if out == 'float32' else ''}({args[0]})" if out.startswith("float") else \
            f"(({args[0]}) < 0 ? -({args[0]}) : ({args[0]}))"
    if name == "bitwise_not":
        return f"(!{args[0]})" if out == "bool" else f"(~{args[0]})"
    if name in ("isnan", "isinf"):
        return MATH[name].format(*args)
    if name in MATH:
        return MATH[name].format(*args, f="f" if out == "float32" else "")
    if name in BY_PARAM:
        param, table = BY_PARAM[name]
        return table[e.params[param]].format(*args, f="f" if out == "float32" else "")
    return PLAIN[name].format(*args)


def literal(c: np.ndarray, dtype: str) -> str:
    """The C literal of a constant whose elements are all equal."""
    return value_literal(c[(0,) * c.ndim].item(), dtype)


def value_literal(x, dtype: str) -> str:
    """A C literal of the Python number x in the C type of `dtype`."""
    if dtype.startswith("float"):
        x = float(x)
        if math.isnan(x):
            return "NAN"
        if math.isinf(x):
            return "INFINITY" if x > 0 else "(-INFINITY)"
        return repr(x) + ("f" if dtype == "float32" else "")
    if dtype == "bool":
        return "1" if x else "0"
    if int(x) == -(2**63):  # 9223372036854775808 does not fit a long long: the literal would not be INT64_MIN
        return "((int64_t)(-9223372036854775807LL - 1))"
    return f"(({CTYPES[dtype]}){int(x)}LL)"


def is_literal(v) -> bool:
    c = v.const
    return c is not None and c.size >= 1 and (c.size == 1 or not any(c.strides))
