"""tg.math: TensorFlow's tf.math names over tapegrad's composites.

A namespace module: each name is an existing op (same meaning) or a small adapter from names.py.
"""

from __future__ import annotations

from .. import ops as _ops
from ..nn import functional as _F

# same meaning, same positional arguments
from ..ops import (  # noqa: F401
    abs,
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    ceil,
    cos,
    cosh,
    erf,
    erfc,
    exp,
    expm1,
    floor,
    log,
    log1p,
    maximum,
    minimum,
    reciprocal,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    tan,
    tanh,
)
from .names import (  # noqa: F401
    add_n,
    argmax,
    argmin,
    log_softmax,
    reduce_all,
    reduce_any,
    reduce_euclidean_norm,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_std,
    reduce_sum,
    reduce_variance,
    softmax,
)
from .names import (
    convert_to_tensor as _t,
)

add, subtract, multiply, divide, truediv = _ops.add, _ops.sub, _ops.mul, _ops.div, _ops.div
negative, floordiv, floormod, mod = _ops.neg, _ops.floor_divide, _ops.remainder, _ops.remainder
equal, not_equal, greater, greater_equal, less, less_equal = _ops.eq, _ops.ne, _ops.gt, _ops.ge, _ops.lt, _ops.le
logical_and, logical_or, logical_not, logical_xor = (
    _ops.logical_and,
    _ops.logical_or,
    _ops.logical_not,
    _ops.logical_xor,
)
is_nan, is_inf, is_finite = _ops.isnan, _ops.isinf, _ops.isfinite
pow = _ops.pow
round = _ops.round


def softplus(features, name=None):
    return _F.softplus(_t(features))


def log_sigmoid(x, name=None):
    return _F.logsigmoid(_t(x))


def squared_difference(x, y, name=None):
    d = _t(x) - y
    return d * d


def divide_no_nan(x, y, name=None):
    """x / y, and 0 where y == 0 (with a zero gradient there too)."""
    x, y = _t(x), _t(y)
    zero = y == 0
    safe = _ops.where(zero, _ops.ones_like(y), y)
    return _ops.where(zero, _ops.zeros_like(x / safe), x / safe)


def multiply_no_nan(x, y, name=None):
    """x * y, and 0 where y == 0 even if x is NaN or infinite."""
    x, y = _t(x), _t(y)
    zero = y == 0
    return _ops.where(zero, _ops.zeros_like(x * y), _ops.where(zero, _ops.zeros_like(x), x) * y)


def xlogy(x, y, name=None):
    """x * log(y), and 0 where x == 0."""
    x, y = _t(x), _t(y)
    zero = x == 0
    return _ops.where(zero, _ops.zeros_like(x * y), x * _ops.log(_ops.where(zero, _ops.ones_like(y), y)))


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    return _cumulative(_ops.cumsum, _t(x), int(axis), exclusive, reverse, 0.0)


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    return _cumulative(_ops.cumprod, _t(x), int(axis), exclusive, reverse, 1.0)


def _cumulative(fn, x, axis, exclusive, reverse, identity):
    if reverse:
        x = _ops.flip(x, (axis,))
    out = fn(x, axis)
    if exclusive:  # shift by one: the first entry is the identity
        first = _ops.full_like(_ops.narrow(x, axis, 0, 1), identity)
        out = _ops.cat([first, _ops.narrow(out, axis, 0, x.shape[axis] - 1)], axis)
    return _ops.flip(out, (axis,)) if reverse else out


def l2_normalize(x, axis=None, epsilon=1e-12, name=None):
    x = _t(x)
    sq = reduce_sum(x * x, axis, keepdims=True)
    return x * _ops.rsqrt(_ops.maximum(sq, _ops.full_like(sq, epsilon)))


def count_nonzero(input, axis=None, keepdims=False, dtype=None, name=None):
    from ..dtype import int64

    x = _t(input)
    return reduce_sum((x != 0).to(dtype or int64), axis, keepdims)


def top_k(input, k=1, sorted=True, name=None):
    """(values, indices) of the k largest entries along the last axis."""
    return _ops.topk(_t(input), int(k), -1, True, sorted)
