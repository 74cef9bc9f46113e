"""Elementwise composites: broadcasting and promotion in front of the elementwise primitives.

Every function takes Tensors or Python scalars; binary ops promote by PyTorch's rules, broadcast
with Expand, then bind one primitive. Math on integer tensors computes in the default float dtype.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtype as dt
from ..errors import user_frame
from ..primitives import PRIMITIVES, bind
from ..primitives import base as _base
from ..autograd import engine as _engine
from ..primitives import elementwise as P
from ..tensor import CREATION_HOOKS, Tensor

# *** broadcasting and promotion ***

# Tensor classes for the inlined fast paths; subclasses (nn.Parameter, Variable) register here.
_PLAIN = {Tensor}


def broadcast_shapes(*shapes) -> tuple:
    """The shape all `shapes` broadcast to (numpy / PyTorch rules), or a ValueError naming them."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        for i, n in enumerate(s, ndim - len(s)):
            if n != 1:
                if out[i] != 1 and out[i] != n:
                    listed = " and ".join(str(tuple(x)) for x in shapes)
                    raise ValueError(
                        f"shapes {listed} cannot be broadcast together: dimension {i - ndim} has sizes "
                        f"{out[i]} and {n}; sizes must match or be 1"
                    )
                out[i] = n
    return tuple(out)


def _scalar(x, dtype: dt.DType) -> Tensor:
    try:
        return Tensor._make(np.array(x, dtype.np))
    except OverflowError:  # e.g. uint8_tensor * -3: the scalar wraps around, as in PyTorch
        return Tensor._make(np.array(x).astype(dtype.np))


def _as_operand(x, dtype: dt.DType) -> Tensor:
    if isinstance(x, Tensor):
        if x._weak and x.dtype is not dtype:  # a Python value: convert its data, as for a number (no Cast)
            return _scalar(getattr(x, "_exact", x._data), dtype)
        return x if x.dtype is dtype else bind(P.Cast, x, dtype=dtype)
    if isinstance(x, np.ndarray):
        return Tensor._make(x.astype(dtype.np))
    return _scalar(x, dtype)


def expand_to(x: Tensor, shape: tuple) -> Tensor:
    if x._data.shape == shape:
        return x
    if x.ndim < len(shape):
        from ..primitives.movement import Reshape

        x = bind(Reshape, x, shape=(1,) * (len(shape) - x.ndim) + tuple(x.shape))
    from ..primitives.movement import Expand

    return bind(Expand, x, shape=shape)


def _check_operand(op, x):
    if not isinstance(x, (Tensor, int, float, bool, np.number, np.bool_, np.ndarray)):
        raise TypeError(f"{op}: expected a Tensor or a Python number, got {type(x).__name__} at {user_frame()}")


def _broadcast(op, *xs):
    shapes = [x.shape for x in xs]
    try:
        shape = broadcast_shapes(*shapes)
    except ValueError as e:
        raise ValueError(f"{op}: {e} (at {user_frame()})") from None
    return [expand_to(x, shape) for x in xs]


def binary(prim, x, y, *, dtype=None, float_math=False):
    """Promote x and y (to `dtype` when given), broadcast them, and bind prim."""
    if x.__class__ in _PLAIN and y.__class__ in _PLAIN and x.dtype is y.dtype and (
            not float_math or x.dtype.category == dt.FLOAT):
        if x._data.shape == y._data.shape:
            return bind(prim, x, y)  # fast path: nothing to promote or broadcast
        if dtype is None and not (_base._ANYWHERE[0] and _base.INTERPRETERS):
            return _eager_broadcast(prim, x, y)  # nothing to promote: x + bias
    if dtype is None and not (_base._ANYWHERE[0] and _base.INTERPRETERS):
        out = _eager_with_scalar(prim, x, y, float_math)
        if out is not None:
            return out
    _check_operand(prim.name, x)
    _check_operand(prim.name, y)
    if dtype is None:
        dtype = dt.result_type(x, y)
        if float_math and dtype.category != dt.FLOAT:
            dtype = dt.get_default_dtype()
    x, y = _as_operand(x, dtype), _as_operand(y, dtype)
    if x._data.shape != y._data.shape and not (_base._ANYWHERE[0] and _base.INTERPRETERS):
        return _eager_broadcast(prim, x, y)
    x, y = _broadcast(prim.name, x, y)
    return bind(prim, x, y)


def _eager_broadcast(prim, *operands):
    """Eager prim(x, y) on operands of different shapes: the kernel broadcasts them (numpy does, the C kernels do) and
    the Node sums each gradient back to its operand's shape (engine.BroadcastNode), as PyTorch does, instead of a
    reshape and an expand per operand in front of the op and their vjps behind it. Traced graphs keep the expands:
    the primitives' rules see operands of one shape."""
    shapes = tuple(t._data.shape for t in operands)
    try:
        broadcast_shapes(*shapes)
    except ValueError as e:
        raise ValueError(f"{prim.name}: {e} (at {user_frame()})") from None
    out = bind(prim, *operands)
    node = out.grad_fn
    if node is not None:
        _engine.broadcast_node(node, shapes)
    return out


_SCALARS = (float, int)  # Python numbers the eager scalar path takes (bool promotes differently: slow path)


def _eager_with_scalar(prim, x, y, float_math):
    """Eager `tensor op scalar` (either order) without broadcasting the scalar, or None for the general path.

    A Python number, or a 0-d tensor that does not require grad, whose promotion leaves the tensor's dtype
    unchanged reaches the kernel as a 0-d array, which numpy (and the C kernels) broadcast for free: expanding it
    to the full shape first cost two extra ops per `x * 1.01`. Only in eager mode with no transform active: traced
    graphs and transforms keep the rule that binary primitives see operands of one shape. The 0-d operand needs no
    gradient, so the vjp's cotangent for it (full-shaped, not reduced) is never used."""
    if y.__class__ in _SCALARS and x.__class__ in _PLAIN:  # 0-d tensors too: `i < n`, `x * 1.5` in a loop
        s = number_operand(x, y, float_math)
        return None if s is None else bind(prim, x, s)
    if x.__class__ in _SCALARS and y.__class__ in _PLAIN:
        s = number_operand(y, x, float_math)
        return None if s is None else bind(prim, s, y)
    if x.__class__ in _PLAIN and x._data.ndim:
        t, s, t_first = x, y, True
    elif y.__class__ in _PLAIN and y._data.ndim:
        t, s, t_first = y, x, False
    else:
        return None
    kind = t.dtype.category
    if float_math and kind != dt.FLOAT:
        return None
    cls = s.__class__
    if cls in _PLAIN and not s._data.ndim and not s._rg and s._base is None:  # a view may be stale: general path
        # (a 0-d tensor of t's own dtype never gets here: binary() sends it to _eager_broadcast)
        if not s._weak or s.dtype.category != kind and not (kind == dt.FLOAT and s.dtype.category == dt.INT):
            return None  # a typed 0-d tensor, or a weak one of a higher category, changes the result dtype
        value = getattr(s, "_exact", s._data)
    else:
        return None
    try:
        s = Tensor._make(np.asarray(value, t.dtype.np))
    except OverflowError:  # an int that does not fit the tensor's dtype wraps around: the general path does that
        return None
    return bind(prim, t, s) if t_first else bind(prim, s, t)


def number_operand(t, value, float_math=False):
    """The Python number `value` (an int or a float, not a bool) as a 0-d operand of tensor t's dtype when the
    promotion of `t op value` keeps t's dtype (float_math: the op computes in floats), else None (the general
    path promotes). The eager scalar paths: _eager_with_scalar, and the operators (ops/__init__.py)."""
    dtype = t.dtype
    kind = dtype.category
    if kind != dt.FLOAT and (float_math or kind == dt.BOOL or value.__class__ is float):
        return None  # int tensor * 0.5 promotes to the default float; bool tensor + 1 to int64
    cache = _OPERANDS.get(dtype)
    if value and cache is not None:  # not 0: -0.0 == 0.0 would find the other one
        s = cache.get(value)
        if s is not None and not CREATION_HOOKS:
            return s
    try:
        data = np.asarray(value, dtype.np)
    except OverflowError:  # an int that does not fit the tensor's dtype wraps around: the general path does that
        return None
    s = Tensor._make(data)
    if value and cache is not None and not CREATION_HOOKS and -_FINITE[dtype] <= value <= _FINITE[dtype]:
        # NOTE: within the dtype's range only (an overflow warns on every conversion) and never NaN. Nothing outside
        # this module holds the operand but the Nodes that saved it, and no op writes into an input: read-only
        # guards that, since every `x * 1.01` of a loop now shares it
        data.flags.writeable = False
        if len(cache) >= 256:  # a loop of ever new values (x * step / n) must not grow it without bound
            cache.clear()
        cache[value] = s
    return s


# dtype -> {Python number: its 0-d read-only Tensor}: making the operand (np.asarray, Tensor._make) costs as much
# as the small op it feeds, once per `x * 1.01` of a loop (W7)
_OPERANDS = {d: {} for d in dt.ALL if d.np is not None and d.category != dt.BOOL}
_FINITE = {d: float(np.finfo(d.np).max) if d.category == dt.FLOAT else math.inf for d in _OPERANDS}


def unary_float(prim, x: Tensor, **params) -> Tensor:
    """Apply a floating-point unary primitive; integer and bool inputs compute in the default float."""
    if x.dtype.category != dt.FLOAT:
        x = bind(P.Cast, x, dtype=dt.get_default_dtype())
    return bind(prim, x, **params)


def to(x: Tensor, *args, dtype=None, device=None, copy=False, non_blocking=False) -> Tensor:
    """x converted to a dtype (and/or device): x.to(tg.float64), x.to("cpu"), x.to(other_tensor)."""
    from ..device import device as check_device

    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda", "mps"):
            check_device(a)
        else:
            dtype = a
    check_device(device)
    if dtype is None:
        return x.clone() if copy else x
    d = dt.as_dtype(dtype)
    if d is x.dtype and not copy:
        return x
    return bind(P.Cast, x, dtype=d)


def cast(x: Tensor, dtype) -> Tensor:
    return to(x, dtype)


# *** arithmetic ***


def _is_one(alpha) -> bool:
    """alpha is the number 1. A tensor alpha (a traced learning rate) is never skipped: comparing it would need its
    value, which a trace does not have."""
    return not isinstance(alpha, Tensor) and alpha == 1


def add(x, y, *, alpha=1):
    if _is_one(alpha) and x.__class__ in _PLAIN and y.__class__ in _PLAIN and x.dtype is y.dtype and x._data.shape == y._data.shape:
        return bind(P.Add, x, y)  # the common case, inlined: this is the hottest path of eager mode
    return binary(P.Add, x, y if _is_one(alpha) else mul(y, alpha))


def sub(x, y, *, alpha=1):
    if _is_one(alpha) and x.__class__ in _PLAIN and y.__class__ in _PLAIN and x.dtype is y.dtype and x._data.shape == y._data.shape:
        return bind(P.Sub, x, y)
    return binary(P.Sub, x, y if _is_one(alpha) else mul(y, alpha))


def mul(x, y):
    if x.__class__ in _PLAIN and y.__class__ in _PLAIN and x.dtype is y.dtype and x._data.shape == y._data.shape:
        return bind(P.Mul, x, y)
    return binary(P.Mul, x, y)


def div(x, y, *, rounding_mode=None):
    """True division (ints give floats); rounding_mode 'trunc' or 'floor' rounds the quotient."""
    if rounding_mode is None:
        return binary(P.Div, x, y, float_math=True)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    dtype = dt.result_type(x, y)
    if dtype.category == dt.FLOAT:
        q = binary(P.Div, x, y)
        return trunc(q) if rounding_mode == "trunc" else floor(q)
    _check_int_divisor(f"div(rounding_mode={rounding_mode!r})", y)
    # NOTE: integer quotients go through float64, exact for |x| < 2**53 (float32 would be exact only to 2**24)
    q = binary(P.Div, x, y, dtype=dt.float64)
    return to(trunc(q) if rounding_mode == "trunc" else floor(q), dtype)


def _check_int_divisor(op, y):
    """Integer division by zero has no value to give; PyTorch raises too (ZeroDivisionError)."""
    data = y._data if isinstance(y, Tensor) else y
    if isinstance(data, (np.ndarray, int)) and not np.all(data):
        raise ZeroDivisionError(f"{op}: integer division by zero; divide as floats (x.float() / y) to get inf")


true_divide = divide = div
multiply, subtract = mul, sub


def floor_divide(x, y):
    return div(x, y, rounding_mode="floor")


def rsub(x, y, *, alpha=1):
    return sub(y, x, alpha=alpha)


def pow(x, y):
    """x ** y. An integer base with a negative integer exponent is an error (as in PyTorch)."""
    if isinstance(y, (int, float)) and not isinstance(y, bool) and isinstance(x, Tensor):
        if y == 1:
            return x * 1
        if y == 2 and x.dtype.category == dt.FLOAT:
            return x * x
    return binary(P.Pow, x, y)


def neg(x):
    """-x.

    >>> tg.neg(tg.tensor([1, -2]))
    tensor([-1,  2])
    """
    if x.dtype is dt.bool_:
        raise TypeError("negation (-) is not defined for bool tensors; use ~x or tg.logical_not(x)")
    return bind(P.Neg, x)


negative = neg


def positive(x):
    """x itself (torch.positive).

    >>> tg.positive(tg.tensor([-1.0]))
    tensor([-1.])
    """
    return x


def reciprocal(x):
    """1 / x, in floating point.

    >>> tg.reciprocal(tg.tensor([2.0, 4.0]))
    tensor([0.5 , 0.25])
    """
    return div(1.0, x)


def square(x):
    """x * x.

    >>> tg.square(tg.tensor([-3, 2]))
    tensor([9, 4])
    """
    if isinstance(x, Tensor) and x.dtype is dt.bool_:
        x = x.to(dt.int64)  # as torch.square (x ** 2): bools square to int64
    return mul(x, x)


def maximum(x, y):
    """The elementwise maximum (nan propagates); at ties the gradient is split.

    >>> tg.maximum(tg.tensor([1.0, 5.0]), tg.tensor([3.0, 2.0]))
    tensor([3., 5.])
    """
    return binary(P.Maximum, x, y)


def minimum(x, y):
    """The elementwise minimum (nan propagates).

    >>> tg.minimum(tg.tensor([1.0, 5.0]), tg.tensor([3.0, 2.0]))
    tensor([1., 2.])
    """
    return binary(P.Minimum, x, y)


def fmax(x, y):
    """maximum that ignores nan (the other value wins).

    >>> tg.fmax(tg.tensor([1.0, float('nan')]), tg.tensor([0.0, 2.0]))
    tensor([1., 2.])
    """
    return where(isnan(x), y, where(isnan(y), x, maximum(x, y)))


def fmin(x, y):
    """The elementwise minimum ignoring nan (the other operand wins).

    >>> tg.fmin(tg.tensor([1.0, float('nan')]), tg.tensor([0.0, 2.0]))
    tensor([0., 2.])
    """
    return where(isnan(x), y, where(isnan(y), x, minimum(x, y)))


def atan2(x, y):
    """atan(x / y) in the right quadrant (x is the ordinate, as torch.atan2(input, other)).

    >>> tg.atan2(tg.tensor([1.0, -1.0]), tg.tensor([1.0, 1.0]))
    tensor([ 0.7854, -0.7854])
    """
    return binary(P.Atan2, x, y, float_math=True)


arctan2 = atan2


def copysign(x, y):
    """|x| with the sign of y, in floating point (integers promote to the default float), as torch.copysign.

    >>> tg.copysign(tg.tensor([1.0, -2.0, 3.0]), tg.tensor([-1.0, 1.0, -0.0]))
    tensor([-1.,  2., -3.])
    """
    return binary(P.Copysign, x, y, float_math=True)


def logaddexp(x, y):
    """log(exp(x) + exp(y)) without overflow, as torch.logaddexp.

    >>> tg.logaddexp(tg.tensor([0.0, 1000.0]), tg.tensor([0.0, 999.0]))
    tensor([   0.6931, 1000.3132])
    """
    return binary(P.Logaddexp, x, y, float_math=True)


def logaddexp2(x, y):
    """log2(2**x + 2**y), as torch.logaddexp2: logaddexp in units of log 2.

    >>> tg.logaddexp2(tg.tensor([1.0]), tg.tensor([1.0]))
    tensor([2.])
    """
    return logaddexp(x * _LN2, y * _LN2) / _LN2


_LN2 = math.log(2.0)


def fmod(x, y):
    """C's fmod: the remainder has the sign of x.

    >>> tg.fmod(tg.tensor([-7.0, 7.0]), 3)
    tensor([-1.,  1.])
    """
    if dt.result_type(x, y).category != dt.FLOAT:
        _check_int_divisor("fmod", y)
    return binary(P.Fmod, x, y)


def remainder(x, y):
    """Python's modulo: the remainder has the sign of y.

    >>> tg.remainder(tg.tensor([-7.0, 7.0]), 3)
    tensor([2., 1.])
    """
    if dt.result_type(x, y).category != dt.FLOAT:
        _check_int_divisor("remainder", y)
    return binary(P.Remainder, x, y)


def lerp(x, end, weight):
    """x + weight * (end - x).

    >>> tg.lerp(tg.tensor([0.0, 10.0]), tg.tensor([10.0, 20.0]), 0.25)
    tensor([ 2.5, 12.5])
    """
    return add(x, mul(weight, sub(end, x)))


def addcmul(x, t1, t2, *, value=1):
    """x + value * t1 * t2.

    >>> tg.addcmul(tg.tensor([1.0]), tg.tensor([2.0]), tg.tensor([3.0]), value=0.5)
    tensor([4.])
    """
    return add(x, mul(mul(t1, t2), value))


def addcdiv(x, t1, t2, *, value=1):
    """x + value * t1 / t2.

    >>> tg.addcdiv(tg.tensor([1.0]), tg.tensor([2.0]), tg.tensor([4.0]), value=2)
    tensor([2.])
    """
    return add(x, mul(div(t1, t2), value))


# *** unary math ***


def _float_unary(prim):
    def fn(x):
        return unary_float(prim, x)

    fn.__name__ = prim.name
    fn.__doc__ = f"Elementwise {prim.name}; integer inputs compute in the default float dtype."
    fn.float_unary = prim  # ops/__init__.py gives the method (x.tanh()) a shortcut to the primitive
    return fn


exp, expm1, log, log1p, sqrt = (_float_unary(p) for p in (P.Exp, P.Expm1, P.Log, P.Log1p, P.Sqrt))
sin, cos, tan, asin, acos, atan = (_float_unary(p) for p in (P.Sin, P.Cos, P.Tan, P.Asin, P.Acos, P.Atan))
sinh, cosh, tanh, asinh, acosh, atanh = (_float_unary(p) for p in (P.Sinh, P.Cosh, P.Tanh, P.Asinh, P.Acosh, P.Atanh))
sigmoid, erf, erfc = (_float_unary(p) for p in (P.Sigmoid, P.Erf, P.Erfc))
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def exp2(x):
    """2 ** x.

    >>> tg.exp2(tg.tensor([0.0, 3.0, -1.0]))
    tensor([1. , 8. , 0.5])
    """
    return exp(mul(x, _LN2))


def log2(x):
    """The base-2 logarithm.

    >>> tg.log2(tg.tensor([1.0, 8.0]))
    tensor([0., 3.])
    """
    return div(log(x), _LN2)


def log10(x):
    """The base-10 logarithm.

    >>> tg.log10(tg.tensor([1.0, 1000.0]))
    tensor([0., 3.])
    """
    return div(log(x), _LN10)


def rsqrt(x):
    """1 / sqrt(x).

    >>> tg.rsqrt(tg.tensor([4.0, 16.0]))
    tensor([0.5 , 0.25])
    """
    return reciprocal(sqrt(x))


def logit(x, eps=None):
    """log(x / (1 - x)); with eps, x is first clamped to [eps, 1 - eps].

    >>> tg.logit(tg.tensor([0.5, 0.75]))
    tensor([0.    , 1.0986])
    """
    if eps is not None:
        x = clamp(x, eps, 1 - eps)
    return log(div(x, rsub(x, 1)))


def _same_dtype_unary(prim, allow_bool=False):
    def fn(x):
        if x.dtype is dt.bool_ and allow_bool:
            return clone(x)
        if x.dtype is dt.bool_:
            raise TypeError(f"{prim.name} is not defined for bool tensors; convert with .float() or .int() first")
        if x.dtype.category != dt.FLOAT and prim.name in ("floor", "ceil", "round", "trunc"):
            return clone(x)  # integers are already whole (a copy, as in PyTorch)
        return bind(prim, x)

    fn.__name__ = prim.name
    return fn


abs = _same_dtype_unary(P.Abs)
absolute = abs
sign = _same_dtype_unary(P.Sign, allow_bool=True)  # sign of a bool is itself, as in PyTorch
floor, ceil, trunc = (_same_dtype_unary(p) for p in (P.Floor, P.Ceil, P.Trunc))
fix = trunc


def round(x, *, decimals=0):
    """Rounds half to even; decimals > 0 rounds to that many decimal places.

    >>> tg.round(tg.tensor([0.5, 1.5, 2.567]))
    tensor([0., 2., 3.])
    >>> tg.round(tg.tensor([2.567]), decimals=2)
    tensor([2.57])
    """
    if decimals == 0:
        return _same_dtype_unary(P.Round)(x)
    scale = 10.0**decimals
    return div(bind(P.Round, mul(x, scale)), scale)


def frac(x):
    """x - trunc(x), with the sign of x.

    >>> tg.frac(tg.tensor([1.25, -1.25]))
    tensor([ 0.25, -0.25])
    """
    return sub(x, trunc(x))


def sgn(x):
    """torch.sgn: sign, for real tensors.

    >>> tg.sgn(tg.tensor([-2.0, 0.0]))
    tensor([-1.,  0.])
    """
    return sign(x)


def signbit(x):
    """Whether the sign bit is set (True for -0.0).

    >>> tg.signbit(tg.tensor([-1.0, -0.0, 2.0]))
    tensor([ True,  True, False])
    """
    return lt(x, 0) if x.dtype.category != dt.FLOAT else bitwise_or(lt(x, 0), eq(div(1.0, x), -math.inf))


# *** comparisons, logic, classification ***


def _compare(prim):
    def fn(x, y):
        return binary(prim, x, y)

    fn.__name__ = prim.name
    return fn


eq, ne, lt, le, gt, ge = (_compare(PRIMITIVES[n]) for n in ("eq", "ne", "lt", "le", "gt", "ge"))
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _bitwise(name):
    prim = PRIMITIVES[name]

    def fn(x, y):
        _check_integral(name, x)
        _check_integral(name, y)
        return binary(prim, x, y)

    fn.__name__ = name
    return fn


def _check_integral(op, x):
    d = x.dtype if isinstance(x, Tensor) else dt.scalar_dtype(x)
    if d.category == dt.FLOAT:
        raise TypeError(f"{op}: not defined for floating values ({d.name}); use bool or integer tensors")


bitwise_and, bitwise_or, bitwise_xor = (_bitwise(n) for n in ("bitwise_and", "bitwise_or", "bitwise_xor"))


def _shift(name):
    prim = PRIMITIVES[name]

    def fn(input, other):
        dtype = dt.result_type(input, other)
        if dtype.category != dt.INT:  # PyTorch has no bool shift either
            raise TypeError(f"{name}: defined for integer tensors only, got {dtype.name}")
        return binary(prim, input, other, dtype=dtype)

    fn.__name__ = name
    fn.__doc__ = f"""Elementwise {name.replace('bitwise_', '').replace('_', ' ')} of integers; a count that is negative or
    at least the bit width gives 0 (or, shifting right, the sign).

    >>> tg.{name}(tg.tensor([1, -8]), 2)
    {'tensor([  4, -32])' if 'left' in name else 'tensor([ 0, -2])'}
    """
    return fn


bitwise_left_shift, bitwise_right_shift = _shift("bitwise_left_shift"), _shift("bitwise_right_shift")


def bitwise_not(x):
    """Bitwise NOT (logical NOT for bool).

    >>> tg.bitwise_not(tg.tensor([0, 5]))
    tensor([-1, -6])
    """
    _check_integral("bitwise_not", x)
    return bind(PRIMITIVES["bitwise_not"], x)


def _as_bool(x):
    return x if isinstance(x, Tensor) and x.dtype is dt.bool_ else ne(x, 0)


def logical_and(x, y):
    """Elementwise AND of truth values (bool result).

    >>> tg.logical_and(tg.tensor([1, 0, 2]), tg.tensor([1, 1, 0]))
    tensor([ True, False, False])
    """
    return bitwise_and(_as_bool(x), _as_bool(y))


def logical_or(x, y):
    """Elementwise OR of truth values (bool result).

    >>> tg.logical_or(tg.tensor([1, 0, 0]), tg.tensor([0, 0, 3]))
    tensor([ True, False,  True])
    """
    return bitwise_or(_as_bool(x), _as_bool(y))


def logical_xor(x, y):
    """Elementwise XOR of truth values (bool result).

    >>> tg.logical_xor(tg.tensor([True, True]), tg.tensor([True, False]))
    tensor([False,  True])
    """
    return bitwise_xor(_as_bool(x), _as_bool(y))


def logical_not(x):
    """Elementwise NOT of truth values (bool result).

    >>> tg.logical_not(tg.tensor([0.0, 2.0]))
    tensor([ True, False])
    """
    return bitwise_not(_as_bool(x))


def isnan(x):
    """Whether each element is nan.

    >>> tg.isnan(tg.tensor([1.0, float('nan')]))
    tensor([False,  True])
    """
    if x.dtype.category != dt.FLOAT:
        return Tensor._make(np.zeros(x.shape, bool))
    return bind(PRIMITIVES["isnan"], x)


def isinf(x):
    """Whether each element is +inf or -inf.

    >>> tg.isinf(tg.tensor([1.0, float('inf'), -float('inf')]))
    tensor([False,  True,  True])
    """
    if x.dtype.category != dt.FLOAT:
        return Tensor._make(np.zeros(x.shape, bool))
    return bind(PRIMITIVES["isinf"], x)


def isfinite(x):
    """Whether each element is neither inf nor nan.

    >>> tg.isfinite(tg.tensor([1.0, float('inf'), float('nan')]))
    tensor([ True, False, False])
    """
    return logical_not(logical_or(isnan(x), isinf(x)))


def isposinf(x):
    """Whether each element is +inf.

    >>> tg.isposinf(tg.tensor([float('inf'), -float('inf')]))
    tensor([ True, False])
    """
    return logical_and(isinf(x), gt(x, 0))


def isneginf(x):
    """Whether each element is -inf.

    >>> tg.isneginf(tg.tensor([float('inf'), -float('inf')]))
    tensor([False,  True])
    """
    return logical_and(isinf(x), lt(x, 0))


def isclose(x, y, rtol=1e-5, atol=1e-8, equal_nan=False):
    """|x - y| <= atol + rtol * |y| elementwise (nan equal only with equal_nan).

    >>> tg.isclose(tg.tensor([1.0, 2.0]), tg.tensor([1.0 + 1e-9, 2.1]))
    tensor([ True, False])
    """
    close = le(abs(sub(x, y)), add(atol, mul(rtol, abs(y))))
    close = logical_or(close, eq(x, y))
    return logical_or(close, logical_and(isnan(x), isnan(y))) if equal_nan else close


def allclose(x, y, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    """Whether isclose holds everywhere (a Python bool).

    >>> tg.allclose(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 2.0 + 1e-9]))
    True
    """
    return bool(isclose(x, y, rtol, atol, equal_nan).all())


def equal(x, y) -> bool:
    """Whether x and y have one shape and equal elements (a Python bool).

    >>> tg.equal(tg.tensor([1, 2]), tg.tensor([1, 2]))
    True
    """
    return x.shape == y.shape and bool(eq(x, y).all())


# *** selection ***


def where(condition, x=None, y=None):
    """x where condition else y (broadcast, promoted); where(condition) alone gives nonzero indices.

    >>> tg.where(tg.tensor([True, False]), tg.tensor([1.0, 2.0]), 0.0)
    tensor([1., 0.])
    """
    if x is None and y is None:
        from .index import nonzero

        return nonzero(condition, as_tuple=True)
    cond = _as_bool(condition) if isinstance(condition, Tensor) else Tensor._make(np.asarray(condition, bool))
    dtype = dt.result_type(x, y)
    x, y = _as_operand(x, dtype), _as_operand(y, dtype)
    shapes = (cond._data.shape, x._data.shape, y._data.shape)
    if (shapes[0] != shapes[1] or shapes[1] != shapes[2]) and not (_base._ANYWHERE[0] and _base.INTERPRETERS):
        return _eager_broadcast(P.Where, cond, x, y)  # relu's where(x <= 0, 0, x): no expand of the 0
    cond, x, y = _broadcast("where", cond, x, y)
    return bind(P.Where, cond, x, y)


def _select(cond, x, y):
    """where(cond, x, y) with cond first, for derivative rules (Tensor._select)."""
    return where(cond, x, y)


def clamp(x, min=None, max=None):
    """Clamp x into [min, max] (tensors or numbers). The gradient passes where min <= x <= max.

    >>> tg.clamp(tg.tensor([-2.0, 0.5, 3.0]), min=0.0, max=1.0)
    tensor([0. , 0.5, 1. ])
    """
    if min is None and max is None:
        raise ValueError("clamp: give at least one of min and max")
    out = x
    if min is not None:
        out = where(lt(out, min), _bound(min, out), out)
    if max is not None:
        out = where(gt(out, max), _bound(max, out), out)
    return out


def _bound(b, like):
    return b if isinstance(b, Tensor) else _scalar(b, dt.result_type(like, b))


clip = clamp


def clamp_min(x, min):
    """clamp(x, min=min).

    >>> tg.clamp_min(tg.tensor([-1.0, 2.0]), 0.0)
    tensor([0., 2.])
    """
    return clamp(x, min=min)


def clamp_max(x, max):
    """clamp(x, max=max).

    >>> tg.clamp_max(tg.tensor([-1.0, 2.0]), 0.0)
    tensor([-1.,  0.])
    """
    return clamp(x, max=max)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replaces nan, +inf and -inf by finite values (the dtype's largest and smallest by default).

    >>> tg.nan_to_num(tg.tensor([float('nan'), 1.0]), nan=0.0)
    tensor([0., 1.])
    """
    if x.dtype.category != dt.FLOAT:
        return x.clone()
    info = np.finfo(np.float32 if x.dtype is dt.bfloat16 else x.dtype.np)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    out = where(isnan(x), nan, x)
    out = where(isposinf(x), posinf, out)
    return where(isneginf(x), neginf, out)


def clone(x, *, memory_format=None):
    """A copy of x with its own storage; gradients flow back to x.

    >>> tg.clone(tg.tensor([1, 2]))
    tensor([1, 2])
    """
    return bind(P.Cast, x, dtype=x.dtype)


# Tensor methods: tensor.name(...) == name(tensor, ...) (attached by ops/__init__.py)
_METHODS = """to cast add sub mul div true_divide divide multiply subtract floor_divide rsub pow neg negative positive
    reciprocal square maximum minimum fmax fmin atan2 arctan2 copysign logaddexp logaddexp2 fmod remainder
    lerp addcmul addcdiv exp expm1 log log1p sqrt sin cos tan asin acos atan sinh cosh tanh asinh acosh
    atanh arcsin arccos arctan arcsinh arccosh arctanh sigmoid erf erfc exp2 log2 log10 rsqrt logit abs
    absolute sign sgn signbit floor ceil trunc fix round frac eq ne lt le gt ge greater greater_equal less
    less_equal not_equal bitwise_and bitwise_or bitwise_xor bitwise_not bitwise_left_shift
    bitwise_right_shift logical_and logical_or logical_xor logical_not isnan isinf isfinite isposinf
    isneginf isclose allclose equal clamp clip clamp_min clamp_max nan_to_num clone"""
# of those, the ones that also get an in-place form tensor.name_(...)
_INPLACE = """add sub mul div true_divide floor_divide pow neg reciprocal square fmod remainder lerp addcmul addcdiv exp
    expm1 log log1p sqrt sin cos tan asin acos atan sinh cosh tanh sigmoid erf erfc exp2 log2 log10 rsqrt
    logit abs sign floor ceil trunc round frac clamp clip clamp_min clamp_max nan_to_num maximum minimum
    atan2 copysign bitwise_and bitwise_or bitwise_xor bitwise_not bitwise_left_shift bitwise_right_shift
    logical_and logical_or logical_not eq ne lt le gt ge"""


# *** examples for the docstrings of the functions that factories make above (exp, eq, ...) and of those
# beside the dispatch code (add, mul, ...); attached here, so that help() shows them and tests/test_doctests.py
# runs them, without touching those definitions ***
_EXAMPLES = {
    "cast": ('x converted to a dtype (a differentiable copy between floating dtypes).', ">>> tg.cast(tg.tensor([1.7, -2.2]), tg.int64)\ntensor([ 1, -2])"),
    "to": (None, ">>> tg.tensor([1, 2]).to(tg.float64)\ntensor([1., 2.], dtype=tg.float64)"),
    "add": ("x + alpha * y, broadcast and promoted by PyTorch's rules.", ">>> tg.add(tg.tensor([1.0, 2.0]), tg.tensor([10.0, 20.0]), alpha=2)\ntensor([21., 42.])"),
    "sub": ('x - alpha * y, broadcast and promoted.', ">>> tg.sub(tg.tensor([5, 6]), 1)\ntensor([4, 5])"),
    "mul": ('x * y elementwise, broadcast and promoted.', ">>> tg.mul(tg.tensor([[1.0], [2.0]]), tg.tensor([3.0, 4.0]))\ntensor([[3., 4.],\n        [6., 8.]])"),
    "div": (None, ">>> tg.div(tg.tensor([7.0, -7.0]), 2, rounding_mode='floor')\ntensor([ 3., -4.])"),
    "floor_divide": ('x // y, rounding toward negative infinity (as Python and PyTorch).', ">>> tg.floor_divide(tg.tensor([7, -7]), 2)\ntensor([ 3, -4])"),
    "rsub": ('y - alpha * x (the reflected subtraction).', ">>> tg.rsub(tg.tensor([1.0, 2.0]), 10)\ntensor([9., 8.])"),
    "pow": (None, ">>> tg.pow(tg.tensor([1.0, 2.0, 3.0]), 2)\ntensor([1., 4., 9.])"),
    "abs": ('|x|; the gradient at 0 is 0, as in PyTorch.', ">>> tg.abs(tg.tensor([-2, 3]))\ntensor([2, 3])"),
    "sign": ('-1, 0 or 1 (the gradient is zero).', ">>> tg.sign(tg.tensor([-2.0, 0.0, 3.0]))\ntensor([-1.,  0.,  1.])"),
    "floor": ('Rounds down.', ">>> tg.floor(tg.tensor([1.5, -1.5]))\ntensor([ 1., -2.])"),
    "ceil": ('Rounds up.', ">>> tg.ceil(tg.tensor([1.5, -1.5]))\ntensor([ 2., -1.])"),
    "trunc": ('Rounds toward zero.', ">>> tg.trunc(tg.tensor([1.7, -1.7]))\ntensor([ 1., -1.])"),
    "eq": ('x == y elementwise (bool).', ">>> tg.eq(tg.tensor([1, 2]), tg.tensor([1, 3]))\ntensor([ True, False])"),
    "ne": ('x != y elementwise (bool).', ">>> tg.ne(tg.tensor([1, 2]), 2)\ntensor([ True, False])"),
    "lt": ('x < y elementwise (bool).', ">>> tg.lt(tg.tensor([1, 2]), 2)\ntensor([ True, False])"),
    "le": ('x <= y elementwise (bool).', ">>> tg.le(tg.tensor([1, 2]), 1)\ntensor([ True, False])"),
    "gt": ('x > y elementwise (bool).', ">>> tg.gt(tg.tensor([1.0, 2.0]), 1.5)\ntensor([False,  True])"),
    "ge": ('x >= y elementwise (bool).', ">>> tg.ge(tg.tensor([1.0, 2.0]), 2.0)\ntensor([False,  True])"),
    "bitwise_and": ('Bitwise AND of integer or bool tensors.', ">>> tg.bitwise_and(tg.tensor([12]), tg.tensor([10]))\ntensor([8])"),
    "bitwise_or": ('Bitwise OR of integer or bool tensors.', ">>> tg.bitwise_or(tg.tensor([12]), tg.tensor([10]))\ntensor([14])"),
    "bitwise_xor": ('Bitwise XOR of integer or bool tensors.', ">>> tg.bitwise_xor(tg.tensor([12]), tg.tensor([10]))\ntensor([6])"),
    "bitwise_left_shift": (None, ">>> tg.bitwise_left_shift(tg.tensor([1, 3]), 2)\ntensor([ 4, 12])"),
    "bitwise_right_shift": (None, ">>> tg.bitwise_right_shift(tg.tensor([16, -16]), 2)\ntensor([ 4, -4])"),
    "exp": (None, ">>> tg.exp(tg.tensor([0.0, 1.0]))\ntensor([1.    , 2.7183])"),
    "expm1": (None, ">>> tg.expm1(tg.tensor([0.0, 1e-10]))\ntensor([0., 0.])"),
    "log": (None, ">>> tg.log(tg.tensor([1.0, 2.718281828]))\ntensor([0., 1.])"),
    "log1p": (None, ">>> tg.log1p(tg.tensor([0.0, 1e-10]))\ntensor([0., 0.])"),
    "sqrt": (None, ">>> tg.sqrt(tg.tensor([4, 9]))\ntensor([2., 3.])"),
    "sin": (None, ">>> tg.sin(tg.tensor([0.0, 1.5707964]))\ntensor([0., 1.])"),
    "cos": (None, ">>> tg.cos(tg.tensor([0.0, 3.1415927]))\ntensor([ 1., -1.])"),
    "tan": (None, ">>> tg.tan(tg.tensor([0.0, 0.7853982]))\ntensor([0., 1.])"),
    "asin": (None, ">>> tg.asin(tg.tensor([0.0, 1.0]))\ntensor([0.    , 1.5708])"),
    "acos": (None, ">>> tg.acos(tg.tensor([1.0, 0.0]))\ntensor([0.    , 1.5708])"),
    "atan": (None, ">>> tg.atan(tg.tensor([0.0, 1.0]))\ntensor([0.    , 0.7854])"),
    "sinh": (None, ">>> tg.sinh(tg.tensor([0.0, 1.0]))\ntensor([0.    , 1.1752])"),
    "cosh": (None, ">>> tg.cosh(tg.tensor([0.0, 1.0]))\ntensor([1.    , 1.5431])"),
    "tanh": (None, ">>> tg.tanh(tg.tensor([0.0, 1.0]))\ntensor([0.    , 0.7616])"),
    "asinh": (None, ">>> tg.asinh(tg.tensor([0.0, 1.0]))\ntensor([0.    , 0.8814])"),
    "acosh": (None, ">>> tg.acosh(tg.tensor([1.0, 2.0]))\ntensor([0.   , 1.317])"),
    "atanh": (None, ">>> tg.atanh(tg.tensor([0.0, 0.5]))\ntensor([0.    , 0.5493])"),
    "sigmoid": (None, ">>> tg.sigmoid(tg.tensor([0.0, 2.0]))\ntensor([0.5   , 0.8808])"),
    "erf": (None, ">>> tg.erf(tg.tensor([0.0, 1.0]))\ntensor([0.    , 0.8427])"),
    "erfc": (None, ">>> tg.erfc(tg.tensor([0.0, 1.0]))\ntensor([1.    , 0.1573])"),
}


from ._examples import attach_examples  # noqa: E402

attach_examples(globals(), _EXAMPLES)


# *** more of PyTorch's elementwise names, composed of the ops above ***


def deg2rad(x):
    """Degrees to radians.

    >>> tg.deg2rad(tg.tensor([180.0, 90.0]))
    tensor([3.1416, 1.5708])
    """
    return mul(_float_of(x), math.pi / 180)


def rad2deg(x):
    """Radians to degrees.

    >>> tg.rad2deg(tg.tensor([3.141592653589793]))
    tensor([180.])
    """
    return mul(_float_of(x), 180 / math.pi)


def _float_of(x):
    return x if x.dtype.category == dt.FLOAT else x.to(dt.get_default_dtype())


def hypot(x, y):
    """sqrt(x^2 + y^2) without overflow or underflow in the squares.

    >>> tg.hypot(tg.tensor([3.0, 1e200], dtype=tg.float64), tg.tensor([4.0, 1e200], dtype=tg.float64))
    tensor([5.0000e+000, 1.4142e+200], dtype=tg.float64)
    """
    ax, ay = abs(x), abs(y)
    big, small = maximum(ax, ay), minimum(ax, ay)
    zero = eq(big, 0)
    safe = where(zero, 1.0, big)
    r = div(where(zero, 0.0, small), safe)
    # NOTE: inf beside inf or nan would give inf/inf = nan; hypot(inf, anything) is inf, as in C
    out = where(zero, 0.0, mul(safe, sqrt(add(1.0, mul(r, r)))))
    return where(logical_or(isinf(x), isinf(y)), math.inf, out)


def heaviside(x, values):
    """0 where x < 0, values where x == 0, 1 where x > 0 (and 0 at nan, as torch.heaviside).

    >>> tg.heaviside(tg.tensor([-1.0, 0.0, 2.0]), tg.tensor([0.5]))
    tensor([0. , 0.5, 1. ])
    """
    d = dt.result_type(x, values)
    return where(eq(x, 0), _as_operand(values, d), where(gt(x, 0), _as_operand(1, d), _as_operand(0, d)))


def float_power(x, y):
    """x ** y computed in float64, as torch.float_power.

    >>> tg.float_power(tg.tensor([2, 3]), 2)
    tensor([4., 9.], dtype=tg.float64)
    """
    return pow(_as_operand(x, dt.float64), _as_operand(y, dt.float64))


def ldexp(x, y):
    """x * 2 ** y.

    >>> tg.ldexp(tg.tensor([1.0, 3.0]), tg.tensor([3, -1]))
    tensor([8. , 1.5])
    """
    return mul(x, exp2(_float_of(y) if isinstance(y, Tensor) else float(y)))


def gcd(x, y):
    """The greatest common divisor of integer tensors (non-negative; gcd(0, 0) = 0), by Euclid's algorithm.

    >>> tg.gcd(tg.tensor([12, -9, 0]), tg.tensor([18, 6, 5]))
    tensor([6, 3, 5])
    """
    a, b = abs(x), abs(y)
    a, b = (_as_operand(v, dt.result_type(x, y)) for v in (a, b))
    if a.dtype.category == dt.FLOAT or a.dtype is dt.bool_:
        raise TypeError(f"gcd: expects integer tensors, got {a.dtype.name}")
    a, b = _broadcast_pair(a, b)
    while bool(ne(b, 0).any()):  # at most ~90 rounds for int64 (consecutive Fibonacci numbers are the worst case)
        nz = ne(b, 0)
        a, b = where(nz, b, a), where(nz, remainder(a, where(nz, b, 1)), 0)
    return a


def lcm(x, y):
    """The least common multiple of integer tensors (non-negative; 0 if either is 0).

    >>> tg.lcm(tg.tensor([4, 6, 0]), tg.tensor([6, 4, 3]))
    tensor([12, 12,  0])
    """
    g = gcd(x, y)
    return abs(mul(floor_divide(x, where(eq(g, 0), 1, g)), y))


def _broadcast_pair(a, b):
    return _broadcast("broadcast", a, b)


def is_floating_point(x):
    """Whether x has a floating dtype.

    >>> tg.is_floating_point(tg.tensor([1.0])), tg.is_floating_point(tg.tensor([1]))
    (True, False)
    """
    return x.dtype.is_floating_point


def is_signed(x):
    """Whether x's dtype can hold negative values.

    >>> tg.is_signed(tg.tensor([1], dtype=tg.uint8)), tg.is_signed(tg.tensor([1]))
    (False, True)
    """
    return x.dtype not in (dt.bool_, dt.uint8) and not x.dtype.name.startswith("uint")


def is_nonzero(x):
    """Whether a one-element tensor is nonzero (an error for any other size), as torch.is_nonzero.

    >>> tg.is_nonzero(tg.tensor([0.5]))
    True
    """
    if x.numel() != 1:
        raise RuntimeError(f"is_nonzero: expects a tensor with exactly one element, got shape {tuple(x.shape)}")
    return bool(x.reshape(()).item() != 0)


_METHODS += """ deg2rad rad2deg hypot heaviside float_power ldexp gcd lcm is_floating_point is_signed is_nonzero"""
_INPLACE += """ deg2rad rad2deg hypot heaviside ldexp gcd lcm"""
