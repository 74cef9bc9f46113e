"""tapegrad.numpy: numpy's names and signatures over tapegrad's ops, for code written against jax.numpy.

`import tapegrad.numpy as jnp`. Every function is a composite of tapegrad ops (so differentiable by every
transform, traceable by tg.jit and mappable by vmap) and takes numpy's arguments: `axis=`, `keepdims=`,
`dtype=`; operands may be tensors, Python numbers, nested lists or numpy arrays (ops/operands.py).
Updates are functional, as in JAX: `x.at[idx].set(v)` returns a new tensor (tapegrad/numpy/at.py).

Where numpy and JAX differ tapegrad follows JAX (`jnp.array` of a Python float list is the default float,
float32) except that float64 numpy arrays stay float64: tapegrad has no "x64 disabled" mode.
"""

from __future__ import annotations

import builtins
import difflib
import math as _math

import numpy as _np

import importlib

_dt = importlib.import_module("tapegrad.dtype")  # tapegrad.dtype the attribute is the DType class (torch.dtype)
from .. import ops as _ops
from ..ops.operands import accepts_values as _values
from ..ops.operands import as_operand as _operand
from ..tensor import Tensor
from . import linalg  # noqa: F401
from .at import install as _install_at

_install_at()

ndarray = Tensor
pi, e, inf, nan, newaxis, euler_gamma = _math.pi, _math.e, _math.inf, _math.nan, None, 0.5772156649015329
bool_, uint8, int8, int16, int32, int64 = _dt.bool_, _dt.uint8, _dt.int8, _dt.int16, _dt.int32, _dt.int64
float16, bfloat16, float32, float64 = _dt.float16, _dt.bfloat16, _dt.float32, _dt.float64
float_, int_ = float64, int64  # numpy's aliases (what np.float_ / np.int_ name)
finfo, iinfo = _np.finfo, _np.iinfo
dtype = _dt.as_dtype


def _d(dtype):
    return None if dtype is None else _dt.as_dtype(dtype)


def _axis(axis):
    """numpy's axis (None, int or tuple) as tapegrad's dim."""
    return None if axis is None else tuple(axis) if isinstance(axis, (list, tuple)) else int(axis)


def _reduced(fn):
    """A numpy reduction (a, axis=None, dtype=None, keepdims=False) from a tapegrad one taking (x, dim,
    keepdim); `dtype` casts first, as numpy accumulates in it."""

    @_values
    def reduction(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        if out is not None:
            raise TypeError(f"{fn.__name__}: out= is not supported (tapegrad tensors are immutable values here)")
        a = a if dtype is None else a.astype(dtype)
        if axis is None and fn.__name__ in ("amax", "amin"):
            axis = tuple(range(a.ndim))
        return fn(a, _axis(axis), keepdims, **kwargs)

    reduction.__name__ = fn.__name__
    return reduction


sum, mean, prod = _reduced(_ops.sum), _reduced(_ops.mean), _reduced(_ops.prod)
max = amax = _reduced(_ops.amax)
min = amin = _reduced(_ops.amin)
all, any = _reduced(_ops.all), _reduced(_ops.any)
nansum, nanmean, logsumexp = _reduced(_ops.nansum), _reduced(_ops.nanmean), _reduced(_ops.logsumexp)


@_values
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    a = a if dtype is None else a.astype(dtype)
    return _ops.var(a, _axis(axis), correction=ddof, keepdim=keepdims)


@_values
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    a = a if dtype is None else a.astype(dtype)
    return _ops.std(a, _axis(axis), correction=ddof, keepdim=keepdims)


@_values
def median(a, axis=None, keepdims=False):
    """The median; an even count averages the two middle values (numpy's rule, not torch's lower one)."""
    if axis is None:
        a, axis = a.reshape(-1), 0
    s = _ops.sort(a, int(axis))[0]
    n = s.shape[axis]
    mid = (s.narrow(axis, (n - 1) // 2, 1) + s.narrow(axis, n // 2, 1)) / 2
    return mid if keepdims else mid.squeeze(axis)


@_values
def average(a, axis=None, weights=None, keepdims=False):
    if weights is None:
        return mean(a, axis, keepdims=keepdims)
    w = _operand(weights, "average", "weights")
    if w.ndim == 1 and a.ndim > 1 and axis is not None:
        w = w.reshape([-1 if i == axis % a.ndim else 1 for i in range(a.ndim)])
    return sum(a * w, axis, keepdims=keepdims) / sum(_ops.broadcast_to(w, a.shape), axis, keepdims=keepdims)


def _arg(fn):
    @_values
    def arg(a, axis=None, out=None, keepdims=False):
        if axis is None:
            return fn(a.reshape(-1), 0)
        return fn(a, int(axis), keepdims)

    arg.__name__ = fn.__name__
    return arg


argmax, argmin = _arg(_ops.argmax), _arg(_ops.argmin)


def _scan(fn):
    @_values
    def scan(a, axis=None, dtype=None, out=None):
        if axis is None:
            a, axis = a.reshape(-1), 0
        return fn(a if dtype is None else a.astype(dtype), int(axis))

    scan.__name__ = fn.__name__
    return scan


cumsum, cumprod = _scan(_ops.cumsum), _scan(_ops.cumprod)


@_values
def count_nonzero(a, axis=None, keepdims=False):
    return sum(_ops.ne(a, 0), axis, dtype=int64, keepdims=keepdims)


# *** elementwise: numpy's names for tapegrad's functions, and the numpy-only ones ***

_SAME = """exp expm1 log log1p log2 log10 exp2 sqrt sin cos tan sinh cosh tanh arcsin arccos arctan arcsinh arccosh
    arctanh abs absolute sign floor ceil trunc fix square negative positive reciprocal isnan isinf isfinite isposinf
    isneginf signbit add subtract multiply divide true_divide floor_divide maximum minimum fmax fmin arctan2 fmod
    remainder equal not_equal less less_equal greater greater_equal logical_and logical_or logical_xor logical_not
    bitwise_and bitwise_or bitwise_xor bitwise_not isclose nan_to_num where broadcast_shapes einsum outer inner
    vdot copysign logaddexp logaddexp2""".split()
for _name in _SAME:
    globals()[_name] = getattr(_ops, _name)
mod, power, pow, invert, rint = _ops.remainder, _ops.pow, _ops.pow, _ops.bitwise_not, _ops.round
left_shift, right_shift = _ops.bitwise_left_shift, _ops.bitwise_right_shift
asin, acos, atan, atan2, asinh, acosh, atanh = arcsin, arccos, arctan, arctan2, arcsinh, arccosh, arctanh
conjugate = conj = real = _values(lambda x: x)  # real tensors only: these are the identity


@_values
def round(a, decimals=0):
    return _ops.round(a, decimals=decimals)


around = round


@_values
def clip(a, a_min=None, a_max=None, *, min=None, max=None):
    lo, hi = a_min if a_min is not None else min, a_max if a_max is not None else max
    return a if lo is None and hi is None else _ops.clamp(a, lo, hi)


@_values
def heaviside(x, y):
    return where(_ops.lt(x, 0), 0.0, where(_ops.gt(x, 0), 1.0, y))


@_values
def sinc(x):
    """sin(pi x) / (pi x), 1 at 0 (the division is kept away from 0 so the gradient there is 0, not nan)."""
    zero = _ops.eq(x, 0)
    safe = where(zero, 1.0, x) * pi
    return where(zero, 1.0, _ops.sin(safe) / safe)


@_values
def deg2rad(x):
    return x * (pi / 180)


@_values
def rad2deg(x):
    return x * (180 / pi)


radians, degrees = deg2rad, rad2deg


@_values
def hypot(x, y):
    return sqrt(x * x + y * y)


@_values
def cbrt(x):
    return sign(x) * abs(x) ** (1.0 / 3)


@_values
def float_power(x, y):
    return power(_ops.to(x, float64), y)


@_values
def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return builtins.bool(_ops.all(isclose(a, b, rtol, atol, equal_nan)))


@_values
def array_equal(a1, a2, equal_nan=False):
    a1, a2 = _operand(a1, "array_equal", "a1"), _operand(a2, "array_equal", "a2")
    return a1.shape == a2.shape and allclose(a1, a2, 0, 0, equal_nan)


# *** creation ***


def array(object, dtype=None, copy=True, ndmin=0):
    """A tensor of object (a tensor, nested list, number or numpy array); lists holding tensors are stacked,
    so gradients reach their elements."""
    t = _operand(object, "array", "object")
    if t._weak or t is object and copy:
        t = _ops.clone(t)  # a fresh (strong) value: jnp.array(2.0) is an ordinary float32 scalar
    t = t if dtype is None else _ops.to(t, _dt.as_dtype(dtype))
    while t.ndim < ndmin:
        t = t.unsqueeze(0)
    return t


def asarray(a, dtype=None):
    return array(a, dtype, copy=False)


def _shape(shape):
    return (int(shape),) if isinstance(shape, (int, _np.integer)) else tuple(int(s) for s in shape)


def zeros(shape, dtype=None):
    return _ops.zeros(_shape(shape), dtype=_d(dtype))


def ones(shape, dtype=None):
    return _ops.ones(_shape(shape), dtype=_d(dtype))


empty = zeros


def full(shape, fill_value, dtype=None):
    if isinstance(fill_value, Tensor):
        return _ops.broadcast_to(fill_value if dtype is None else fill_value.astype(dtype), _shape(shape)) * 1
    return _ops.full(_shape(shape), fill_value, dtype=_d(dtype) or _weak_dtype(fill_value))


def _weak_dtype(value):
    return _dt.scalar_dtype(value) if not isinstance(value, builtins.float) else _dt.get_default_dtype()


@_values
def zeros_like(a, dtype=None, shape=None):
    return zeros(a.shape if shape is None else shape, dtype or a.dtype)


@_values
def ones_like(a, dtype=None, shape=None):
    return ones(a.shape if shape is None else shape, dtype or a.dtype)


@_values
def full_like(a, fill_value, dtype=None, shape=None):
    return full(a.shape if shape is None else shape, fill_value, dtype or a.dtype)


empty_like = zeros_like


def arange(start, stop=None, step=None, dtype=None):
    out = _ops.arange(start, stop, 1 if step is None else step)
    return out if dtype is None else out.astype(dtype)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    num = int(num)
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else nan
    if isinstance(start, Tensor) or isinstance(stop, Tensor):  # differentiable in start and stop
        t = _ops.arange(num, dtype=float32 if dtype is None else _d(dtype))
        out = _operand(start) + t * ((_operand(stop) - start) / builtins.max(div, 1))
    else:
        out = _ops.tensor(_np.linspace(start, stop, num, endpoint=endpoint), dtype=_d(dtype) or float32)
    if axis != 0:
        out = moveaxis(out, 0, axis)
    return (out, step) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None):
    return power(base, linspace(start, stop, num, endpoint, dtype=dtype))


def eye(N, M=None, k=0, dtype=None):
    return _ops.tensor(_np.eye(N, M, k), dtype=_d(dtype) or float32)


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    return _ops.tensor(_np.tri(N, M, k), dtype=_d(dtype) or float32)


@_values
def tril(m, k=0):
    return _ops.tril(m, k)


@_values
def triu(m, k=0):
    return _ops.triu(m, k)


@_values
def diag(v, k=0):
    return _ops.diag(v, k)


@_values
def diagonal(a, offset=0, axis1=0, axis2=1):
    return _ops.diagonal(a, offset, axis1, axis2)


@_values
def trace(a, offset=0, axis1=0, axis2=1):
    return _ops.sum(diagonal(a, offset, axis1, axis2), -1)


def meshgrid(*xi, indexing="xy"):
    xs = [_operand(x, "meshgrid", "xi").reshape(-1) for x in xi]
    shape = [x.shape[0] for x in xs]
    if indexing == "xy" and len(xs) > 1:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xs):
        axis = {0: 1, 1: 0}.get(i, i) if indexing == "xy" and len(xs) > 1 else i
        view = [1] * len(xs)
        view[axis] = -1
        out.append(_ops.broadcast_to(x.reshape(view), shape))
    return out


# *** shape ***


def shape(a):
    return tuple(_operand(a, "shape", "a").shape)


def ndim(a):
    return _operand(a, "ndim", "a").ndim


def size(a, axis=None):
    a = _operand(a, "size", "a")
    return a.numel() if axis is None else a.shape[axis]


@_values
def reshape(a, newshape=None, order="C", *, shape=None):
    if order != "C":
        raise NotImplementedError("reshape: only order='C' is supported")
    target = newshape if newshape is not None else shape
    return _ops.reshape(a, _shape(target) if not isinstance(target, int) else (target,))


@_values
def ravel(a, order="C"):
    return a.reshape(-1)


@_values
def transpose(a, axes=None):
    return a.permute(tuple(reversed(range(a.ndim))) if axes is None else tuple(axes))


@_values
def matrix_transpose(x):
    return x.mT


permute_dims = transpose


@_values
def swapaxes(a, axis1, axis2):
    return _ops.swapaxes(a, axis1, axis2)


@_values
def moveaxis(a, source, destination):
    return _ops.movedim(a, source, destination)


@_values
def expand_dims(a, axis):
    for ax in sorted(_np.atleast_1d(axis) % (a.ndim + _np.size(axis))):
        a = a.unsqueeze(int(ax))
    return a


@_values
def squeeze(a, axis=None):
    return _ops.squeeze(a) if axis is None else _ops.squeeze(a, _axis(axis))


@_values
def broadcast_to(array, shape):
    return _ops.broadcast_to(array, _shape(shape))


def broadcast_arrays(*args):
    return _ops.broadcast_tensors(*args)


def atleast_1d(*arys):
    out = [_operand(a).reshape(-1) if _operand(a).ndim == 0 else _operand(a) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    out = []
    for a in arys:
        a = _operand(a)
        out.append(a.reshape(1, -1) if a.ndim < 2 else a)
    return out[0] if len(out) == 1 else out


def concatenate(arrays, axis=0):
    if axis is None:
        return _ops.cat([_operand(a).reshape(-1) for a in arrays], 0)
    return _ops.cat(arrays, axis)


concat = concatenate


def stack(arrays, axis=0):
    return _ops.stack(arrays, axis)


def hstack(tup):
    return _ops.hstack(tup)


def vstack(tup):
    return _ops.vstack([_operand(a) for a in tup])


row_stack = vstack


def column_stack(tup):
    return _ops.cat([_operand(a).reshape(-1, 1) if _operand(a).ndim < 2 else _operand(a) for a in tup], 1)


@_values
def split(ary, indices_or_sections, axis=0):
    """numpy's split: an int is a count of equal parts (an error if it does not divide), a list are the cut
    points."""
    if isinstance(indices_or_sections, int) and ary.shape[axis] % indices_or_sections:
        raise ValueError(f"split: array split does not result in an equal division ({ary.shape[axis]} by "
                         f"{indices_or_sections}); use array_split")
    return list(_ops.tensor_split(ary, indices_or_sections, axis))


@_values
def array_split(ary, indices_or_sections, axis=0):
    return list(_ops.tensor_split(ary, indices_or_sections, axis))


@_values
def tile(A, reps):
    return _ops.tile(A, (reps,) if isinstance(reps, int) else tuple(reps))


@_values
def repeat(a, repeats, axis=None):
    return _ops.repeat_interleave(a, repeats, axis)


@_values
def flip(m, axis=None):
    return _ops.flip(m, tuple(range(m.ndim)) if axis is None else (axis,) if isinstance(axis, int) else axis)


@_values
def fliplr(m):
    return _ops.fliplr(m)


@_values
def flipud(m):
    return _ops.flipud(m)


@_values
def roll(a, shift, axis=None):
    return _ops.roll(a, shift, axis)


@_values
def pad(array, pad_width, mode="constant", constant_values=0):
    """numpy's pad, constant mode: pad_width an int, (before, after) or one pair per axis."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode={mode!r} is not supported; only 'constant'")
    w = _np.broadcast_to(_np.asarray(pad_width, dtype=int), (array.ndim, 2))
    return _ops.pad_constant(array, tuple(map(tuple, w.tolist())), constant_values)


@_values
def take(a, indices, axis=None):
    if axis is None:
        return a.reshape(-1)[_operand(indices, "take", "indices")]
    key = (slice(None),) * (axis % a.ndim) + (_operand(indices, "take", "indices"),)
    return a[key]


@_values
def take_along_axis(arr, indices, axis):
    return _ops.take_along_dim(arr, _operand(indices, "take_along_axis", "indices"), axis)


@_values
def sort(a, axis=-1):
    if axis is None:
        a, axis = a.reshape(-1), 0
    return _ops.sort(a, axis)[0]


@_values
def argsort(a, axis=-1):
    if axis is None:
        a, axis = a.reshape(-1), 0
    return _ops.argsort(a, axis, stable=True)


@_values
def nonzero(a):
    return _ops.nonzero(a, as_tuple=True)


@_values
def astype(x, dtype):
    return _ops.to(x, _dt.as_dtype(dtype))


@_values
def copy(a):
    return _ops.clone(a)


# *** linear algebra at the top level ***


@_values
def matmul(a, b):
    return _ops.matmul(a, b)


@_values
def dot(a, b):
    """numpy's dot: a product for scalars, matmul for 1-D and 2-D, and for N-D a sum over a's last axis and
    b's second-to-last."""
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return _ops.matmul(a, b)
    return tensordot(a, b, ([a.ndim - 1], [builtins.max(b.ndim - 2, 0)]))


@_values
def tensordot(a, b, axes=2):
    if isinstance(axes, int):
        axes = (list(range(a.ndim - axes, a.ndim)), list(range(axes)))
    ax_a, ax_b = ([axes[0]] if isinstance(axes[0], int) else list(axes[0]),
                  [axes[1]] if isinstance(axes[1], int) else list(axes[1]))
    ax_a, ax_b = [x % a.ndim for x in ax_a], [x % b.ndim for x in ax_b]
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [i for i in range(b.ndim) if i not in ax_b]
    k = int(_np.prod([a.shape[i] for i in ax_a]))
    am = a.permute(free_a + ax_a).reshape(-1, k)
    bm = b.permute(ax_b + free_b).reshape(k, -1)
    return (am @ bm).reshape([a.shape[i] for i in free_a] + [b.shape[i] for i in free_b])


@_values
def kron(a, b):
    out = a.reshape(a.shape[0], 1, a.shape[1], 1) * b.reshape(1, b.shape[0], 1, b.shape[1]) if a.ndim == 2 else \
        (a.reshape(-1, 1) * b.reshape(1, -1))
    return out.reshape(a.shape[0] * b.shape[0], a.shape[1] * b.shape[1]) if a.ndim == 2 else out.reshape(-1)


@_values
def cross(a, b):
    a0, a1, a2 = (a[..., i] for i in range(3))
    b0, b1, b2 = (b[..., i] for i in range(3))
    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], -1)


def result_type(*args):
    return _dt.result_type(*[_operand(a) if isinstance(a, (list, tuple)) else a for a in args])


def promote_types(a, b):
    return _dt.promote(_dt.as_dtype(a), _dt.as_dtype(b))


def issubdtype(arg1, arg2):
    kinds = {"floating": _dt.FLOAT, "inexact": _dt.FLOAT, "integer": _dt.INT, "signedinteger": _dt.INT,
             "bool_": _dt.BOOL, "number": None}
    a = _dt.as_dtype(arg1)
    key = getattr(arg2, "__name__", str(arg2))
    if key in kinds:
        return kinds[key] is None or a.category == kinds[key]
    return a is _dt.as_dtype(arg2)


floating, inexact, integer, signedinteger, number = (type(n, (), {}) for n in
                                                       ("floating", "inexact", "integer", "signedinteger", "number"))


def __getattr__(name):
    """An unknown name: an AttributeError listing the closest names this module has."""
    if name.startswith("__"):
        raise AttributeError(name)
    close = difflib.get_close_matches(name, [n for n in globals() if not n.startswith("_")], n=5)
    hint = f"; close names: {', '.join(close)}" if close else ""
    raise AttributeError(f"tapegrad.numpy has no function {name!r} (not implemented){hint}")
