"""Composite operations and their binding onto Tensor as methods and operators.

Each function lives in one module by family; this file only wires them to Tensor (PyTorch's method
names) and adds the in-place variants (`add_`, `exp_`, ...) through Tensor._inplace.
"""

from __future__ import annotations

import builtins
import functools

import numpy as np

from .. import dtype as _dt
from ..autograd.grad_mode import STATE
from ..primitives import base as _base
from ..tensor import Tensor
from . import _signature, activation, conv, creation, elementwise, index, linalg, reduce, shape, special
from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .creation import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .special import *  # noqa: F401,F403

E, S, R, X, L = elementwise, shape, reduce, index, linalg

# *** Python values as operands: every exported op (tg.*, tapegrad.numpy, TF's names) and every method
# converts numbers, nested lists and numpy arrays in one place, operands.accepts_values; the modules'
# own functions stay unwrapped, since composites call each other with tensors only ***
from . import operands  # noqa: E402
from .operands import accepts_values, as_operand  # noqa: E402,F401

_WRAPPED = {}


def _v(fn):
    if fn not in _WRAPPED:
        _WRAPPED[fn] = accepts_values(fn)
    return _WRAPPED[fn]


for _name, _fn in list(globals().items()):
    if not _name.startswith("_") and callable(_fn) and getattr(_fn, "__module__", "").startswith(__name__ + "."):
        globals()[_name] = _v(_fn)

# *** methods: tensor.name(...) == module.name(tensor, ...) ***


def _unary_method(prim, generic):
    """The method `generic` (e.g. Tensor.tanh) of a float unary op, with a shortcut for a plain float tensor in eager
    mode: straight to the primitive, past the operand conversion, the keyword translation and unary_float."""
    anywhere, plain, floating = _base._ANYWHERE, elementwise._PLAIN, _dt.FLOAT

    @functools.wraps(generic)
    def method(self, *args, **kwargs):
        if not args and not kwargs and self.__class__ in plain and not anywhere[0] and self.dtype.category == floating:
            return _base._eager_unary(prim, self)  # (anomaly mode swaps in a checking one)
        return generic(self, *args, **kwargs)

    return method


_MODULES = (elementwise, shape, reduce, index, linalg, activation, special)
for _module in _MODULES:
    for _name in _module._METHODS.split():
        _fn = getattr(_module, _name)
        _method = _signature.accept_torch_keywords(_v(_fn))
        if getattr(_fn, "float_unary", None) is not None:
            _method = _unary_method(_fn.float_unary, _method)
        setattr(Tensor, _name, _method)

Tensor.polygamma = _signature.accept_torch_keywords(_v(special._polygamma_method))
Tensor.where = lambda self, condition, other: _v(elementwise.where)(condition, self, other)
Tensor._select = elementwise._select
Tensor.unfold = shape._unfold
Tensor.T = property(shape.T)
Tensor.mT = property(shape.mT)
Tensor.H = property(shape.T)
Tensor.zeros_like = creation.zeros_like
Tensor.ones_like = creation.ones_like
Tensor.__getitem__ = index.getitem
Tensor.__setitem__ = index.setitem


def _new(fill):
    def new(self, *size, dtype=None, device=None, requires_grad=False):
        return fill(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    return new


Tensor.new_zeros = _new(creation.zeros)
Tensor.new_ones = _new(creation.ones)
Tensor.new_empty = _new(creation.empty)
Tensor.new_full = lambda self, size, fill_value, *, dtype=None, device=None, requires_grad=False: creation.full(
    size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad
)
Tensor.new_tensor = lambda self, data, *, dtype=None, device=None, requires_grad=False: creation.tensor(
    data, dtype=dtype or self.dtype, requires_grad=requires_grad
)


# conversions
def _converter(d):
    return lambda self, memory_format=None: self.to(d)


from .. import dtype as _dt  # noqa: E402

for _name, _d in dict(float=_dt.float32, double=_dt.float64, half=_dt.float16, bfloat16=_dt.bfloat16,
                      int=_dt.int32, long=_dt.int64, short=_dt.int16, bool=_dt.bool_, byte=_dt.uint8, char=_dt.int8).items():
    setattr(Tensor, _name, _converter(_d))
Tensor.type_as = lambda self, other: self.to(other.dtype)
Tensor.cpu = lambda self: self
Tensor.cuda = lambda self, *a, **k: creation._check_device("cuda")


# *** operators ***


def _reflect(fn):
    return lambda self, other: fn(other, self)


# operator stem -> the op: x.__STEM__(y), x.__rSTEM__(y) (y op x) and the in-place x.__iSTEM__(y) (defined below)
_OPERATORS = {"add": E.add, "sub": E.sub, "mul": E.mul, "truediv": E.div, "floordiv": E.floor_divide,
              "mod": E.remainder, "pow": E.pow, "matmul": L.matmul, "and": E.bitwise_and, "or": E.bitwise_or,
              "xor": E.bitwise_xor, "lshift": E.bitwise_left_shift, "rshift": E.bitwise_right_shift}
for _stem, _fn in _OPERATORS.items():
    setattr(Tensor, f"__{_stem}__", _v(_fn))
    setattr(Tensor, f"__r{_stem}__", _reflect(_v(_fn)))


def _operator(prim, generic, reflected, float_math=False):
    """The operator `generic` (e.g. Tensor.__mul__) with a shortcut for the commonest operands of small-op code in
    eager mode: a plain tensor and either a Python int or float whose promotion keeps the tensor's dtype (`x * 1.01`,
    `1 - p`, `i + 1`), or a plain tensor of the same dtype and shape (`x * a + b`). They go straight to the primitive,
    past the operand conversion, the op's function and binary()'s dispatch, which would take the same path
    (binary()'s fast path, elementwise._eager_with_scalar) in the end. float_math: the op computes in floats (div)."""
    anywhere, plain, make_operand, floating = _base._ANYWHERE, elementwise._PLAIN, elementwise.number_operand, _dt.FLOAT

    @functools.wraps(generic)
    def op(self, other):
        if self.__class__ in plain and not anywhere[0]:
            cls = other.__class__
            if cls in _NUMBERS:
                s = make_operand(self, other, float_math)
                if s is not None:  # (anomaly mode swaps in a checking _eager_binary)
                    return _base._eager_binary(prim, s, self) if reflected else _base._eager_binary(prim, self, s)
            elif (cls in plain and other.dtype is self.dtype and other._data.shape == self._data.shape
                  and (not float_math or self.dtype.category == floating)):
                return _base._eager_binary(prim, other, self) if reflected else _base._eager_binary(prim, self, other)
        return generic(self, other)

    return op


_NUMBERS = (float, int)  # not bool: a bool operand promotes differently (the general path)
for _stem, _prim, _fm in (("add", E.P.Add, False), ("sub", E.P.Sub, False), ("mul", E.P.Mul, False),
                          ("truediv", E.P.Div, True)):
    setattr(Tensor, f"__{_stem}__", _operator(_prim, getattr(Tensor, f"__{_stem}__"), False, _fm))
    setattr(Tensor, f"__r{_stem}__", _operator(_prim, getattr(Tensor, f"__r{_stem}__"), True, _fm))
Tensor.__invert__ = _v(E.bitwise_not)
Tensor.__neg__ = _v(E.neg)
Tensor.__pos__ = _v(E.positive)
Tensor.__abs__ = _v(E.abs)


def _equality(fn):
    def op(self, other):
        # NOTE: x == None (or a string, ...) is False rather than an error, as in PyTorch and numpy
        if not isinstance(other, (Tensor, int, float, bool, np.number, np.bool_, np.ndarray)):
            return NotImplemented
        return fn(self, other)

    return op


Tensor.__eq__, Tensor.__ne__ = _equality(_v(E.eq)), _equality(_v(E.ne))
Tensor.__lt__, Tensor.__le__, Tensor.__gt__, Tensor.__ge__ = _v(E.lt), _v(E.le), _v(E.gt), _v(E.ge)
# comparisons promote as arithmetic does (binary()), so they take the same shortcut: `i < n`, `x > 0.5` in a loop
for _stem in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(Tensor, f"__{_stem}__", _operator(E.PRIMITIVES[_stem], getattr(Tensor, f"__{_stem}__"), False))


# *** in place: x.op_(...) computes op out of place, then writes into x (Tensor._inplace) ***


# In-place arithmetic that numpy can do straight into the tensor's memory (x.add_(g, alpha=-lr), x += y, x *= 0.9)
_UFUNCS = {"add_": np.add, "sub_": np.subtract, "mul_": np.multiply, "div_": np.true_divide, "__iadd__": np.add,
           "__isub__": np.subtract, "__imul__": np.multiply, "__itruediv__": np.true_divide}
_TAKE_ALPHA = ("add_", "sub_")  # as in PyTorch, only these take alpha=
_FLOAT_KINDS = (_dt.float16, _dt.float32, _dt.float64)


def _direct(self, ufunc, name, args, kwargs):
    """self op= other computed by numpy into self's memory, when nothing needs recording or tracing and no promotion
    or broadcast of self is involved: an optimizer's update then makes one pass over the parameter instead of
    computing a new tensor and copying it in. Returns self, or None for the general path (Tensor._inplace)."""
    if len(args) != 1 or (kwargs and (len(kwargs) > 1 or "alpha" not in kwargs or name not in _TAKE_ALPHA)):
        return None
    other, alpha = args[0], kwargs.get("alpha", 1)
    data = self._data
    if (self.__class__ not in elementwise._PLAIN or type(data) is not np.ndarray or self.dtype not in _FLOAT_KINDS
            or not data.flags.writeable or alpha.__class__ not in _NUMBERS or (_base._ANYWHERE[0] and _base.INTERPRETERS)):
        return None
    if other.__class__ in _NUMBERS:
        value = other
    elif other.__class__ in elementwise._PLAIN and other.dtype is self.dtype and type(other._data) is np.ndarray and (
            other._data.shape == data.shape or not other._data.ndim):
        value = other._data
        if STATE.enabled and other._rg:
            return None
    else:
        return None
    if STATE.enabled and (self._rg or self._base is not None or getattr(other, "_base", None) is not None):
        return None  # views go the general way, which brings them up to date with their base first
    if alpha != 1:
        value = np.multiply(value, alpha) if value.__class__ is np.ndarray else value * alpha
    if ufunc is np.true_divide:
        with np.errstate(divide="ignore", invalid="ignore"):  # x / 0 is inf, silently, as in PyTorch
            ufunc(data, value, out=data)
    else:
        ufunc(data, value, out=data)
    self._version.value += 1
    self._version.op = name
    return self


def _inplace(fn, name):
    ufunc = _UFUNCS.get(name)

    def method(self, *args, **kwargs):
        if ufunc is not None and _direct(self, ufunc, name, args, kwargs) is not None:
            return self
        # NOTE: fn's backward may save self (abs_, sin_, mul_, ...), which the write would then change; when
        # the op is recorded it computes from a copy of self, as PyTorch keeps the original self for backward.
        src = self.clone() if _records(self, args, kwargs) else self
        return self._inplace(fn(src, *args, **kwargs), name)

    method.__name__ = name
    return method


def _records(self, args, kwargs):
    if not STATE.enabled:
        return False
    return self._rg or builtins.any(isinstance(a, Tensor) and a._rg for a in (*args, *kwargs.values()))


for _name in (n for _module in _MODULES for n in getattr(_module, "_INPLACE", "").split()):
    setattr(Tensor, _name + "_", _inplace(getattr(Tensor, _name), _name + "_"))

for _stem, _fn in _OPERATORS.items():
    setattr(Tensor, f"__i{_stem}__", _inplace(_v(_fn), f"__i{_stem}__"))


def zero_(self):
    return self._inplace(creation.zeros_like(self), "zero_")


def fill_(self, value):
    v = value if isinstance(value, Tensor) else E._scalar(value, self.dtype)
    return self._inplace(v.to(self.dtype) if isinstance(value, Tensor) else v, "fill_")


def copy_(self, src, non_blocking=False):
    src = src if isinstance(src, Tensor) else creation.tensor(src)
    return self._inplace(src.to(self.dtype), "copy_")


def uniform_(self, a=0.0, b=1.0, generator=None):
    from ..autograd.grad_mode import no_grad

    with no_grad():
        return self._inplace(creation.rand_like(self) * (b - a) + a, "uniform_")


def normal_(self, mean=0.0, std=1.0, generator=None):
    from ..autograd.grad_mode import no_grad

    with no_grad():
        return self._inplace(creation.randn_like(self) * std + mean, "normal_")


Tensor.zero_, Tensor.fill_, Tensor.copy_, Tensor.uniform_, Tensor.normal_ = zero_, fill_, copy_, uniform_, normal_
Tensor.set_ = lambda self, src: copy_(self, src)


# *** tg.name(...): PyTorch's keyword names and out= on every public function of the ops modules ***


def _public_functions():
    import inspect

    # conv: PyTorch's names already, no out=, and nn.functional re-exports the very same functions
    modules = (activation, creation, elementwise, index, linalg, reduce, shape, special)
    for name, fn in list(globals().items()):
        if not name.startswith("_") and inspect.isfunction(fn) and getattr(fn, "__module__", "") in {
            m.__name__ for m in modules
        }:
            yield name, fn


for _name, _fn in list(_public_functions()):
    globals()[_name] = _signature.torch_function(_fn)


# *** the rest of PyTorch's in-place methods, for methods defined above (out of place, then written into x) ***
_MORE_INPLACE = """absolute acosh arccos arccosh arcsin arcsinh arctan arctan2 arctanh asinh atanh cumsum cumprod divide
    greater greater_equal less less_equal multiply subtract not_equal logical_xor negative sgn fix tril triu polygamma
    hypot heaviside ldexp renorm"""
for _name in _MORE_INPLACE.split():
    if not hasattr(Tensor, _name + "_"):
        setattr(Tensor, _name + "_", _inplace(getattr(Tensor, _name), _name + "_"))


# torch.abs_(x) and the like: PyTorch's top-level spelling of the in-place methods
def _inplace_function(name):
    def function(x, *args, **kwargs):
        return getattr(x, name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"torch.{name}(x, ...): x.{name}(...), in place."
    return function


for _name in """abs_ acos_ acosh_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_ asinh_ atan_ atanh_ ceil_
        clamp_ clamp_max_ clamp_min_ clip_ cos_ cosh_ deg2rad_ erf_ erfc_ exp2_ exp_ expm1_ fix_ floor_ frac_ gcd_ i0_
        lcm_ ldexp_ log10_ log1p_ log2_ log_ logit_ nan_to_num_ neg_ negative_ rad2deg_ reciprocal_ relu_ round_ rsqrt_
        sigmoid_ sin_ sinc_ sinh_ sqrt_ square_ tan_ tanh_ trunc_ xlogy_""".split():
    if hasattr(Tensor, _name) and _name not in globals():
        globals()[_name] = _inplace_function(_name)


# *** more Tensor methods: sizes, random fills, and the legacy spellings ***


def _fill_from(name, draw):
    """An in-place random fill: x.random_(...), x.exponential_(...): values drawn with numpy's generator."""

    def method(self, *args, generator=None, **kwargs):
        from ..autograd.grad_mode import no_grad

        values = draw(creation._gen(generator), tuple(self.shape), *args, **kwargs)
        with no_grad():
            return self._inplace(Tensor._make(np.asarray(values).astype(self.dtype.np)), name)

    method.__name__ = name
    return method


def _random(rng, shape, start=0, end=None):
    if end is None:
        start, end = 0, start if start else 2**24  # torch: [0, 2^mantissa] for floats; here 2^24 keeps float32 exact
    return rng.integers(start, end, shape)


def _exponential(rng, shape, lambd=1.0):
    return rng.exponential(1.0 / lambd, shape)


def _geometric(rng, shape, p):
    return rng.geometric(p, shape)


def _cauchy(rng, shape, median=0.0, sigma=1.0):
    return median + sigma * rng.standard_cauchy(shape)


def _log_normal(rng, shape, mean=1.0, std=2.0):
    return rng.lognormal(mean, std, shape)


for _name, _draw in (("random_", _random), ("exponential_", _exponential), ("geometric_", _geometric),
                     ("cauchy_", _cauchy), ("log_normal_", _log_normal)):
    setattr(Tensor, _name, _fill_from(_name, _draw))


def _bernoulli_(self, p=0.5, *, generator=None):
    from ..autograd.grad_mode import no_grad

    with no_grad():
        return self._inplace(creation.bernoulli(self, p if not isinstance(p, Tensor) else p._data,
                                                generator=generator), "bernoulli_")


Tensor.bernoulli = lambda self, p=None, *, generator=None: creation.bernoulli(self, p, generator=generator)
Tensor.bernoulli_ = _bernoulli_
Tensor.multinomial = lambda self, num_samples, replacement=False, *, generator=None: creation.multinomial(
    self, num_samples, replacement, generator=generator)
Tensor.nelement = Tensor.numel
Tensor.ndimension = Tensor.dim
Tensor.nbytes = property(lambda self: self.numel() * self.element_size())
Tensor.is_cpu = property(lambda self: True)
Tensor.mH = property(shape.mT)  # real tensors: the conjugate transpose is the transpose
Tensor.stride = lambda self, dim=None: (tuple(s // self.element_size() for s in self._data.strides) if dim is None
                                        else self._data.strides[dim] // self.element_size())


def _put(self, index, source, accumulate=False):
    """x with source written (or added) at the flat positions index (torch.Tensor.put)."""
    flat = self.reshape(-1)
    out = index_put(flat, (index.reshape(-1),), source.reshape(-1), accumulate)
    return out.reshape(self.shape)


Tensor.put = _put
Tensor.put_ = lambda self, index, source, accumulate=False: self._inplace(_put(self, index, source, accumulate), "put_")


def _fill_diagonal_(self, fill_value, wrap=False):
    """x's main diagonal (all dims equal; wrap continues down tall matrices every n + 1 rows) set to fill_value."""
    if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
        raise ValueError(f"fill_diagonal_: expects a matrix or a tensor with all dims equal, got {tuple(self.shape)}")
    n = min(self.shape)
    if self.ndim == 2 and wrap and self.shape[0] > self.shape[1]:
        rows = np.array([r for r in range(self.shape[0]) if r % (self.shape[1] + 1) < self.shape[1]])
        cols = rows % (self.shape[1] + 1)
        key = (Tensor._make(rows.astype(np.int64)), Tensor._make(cols.astype(np.int64)))
    else:
        key = tuple(Tensor._make(np.arange(n, dtype=np.int64)) for _ in range(self.ndim))
    out = index_put(self, key, E._scalar(fill_value, self.dtype).expand((len(key[0]._data),)))
    return self._inplace(out, "fill_diagonal_")


Tensor.fill_diagonal_ = _fill_diagonal_


def _type(self, dtype=None, non_blocking=False):
    """x.type(): the legacy type name ('torch.FloatTensor' style, as PyTorch prints); x.type(dtype): x.to(dtype)."""
    if dtype is None:
        names = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                 "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
        return f"torch.{names.get(self.dtype.name, self.dtype.name)}Tensor"
    return self.to(dtype)


Tensor.type = _type


# *** the remaining legacy and convenience methods ***
Tensor.adjoint = lambda self: self.mH
Tensor.isreal = lambda self: creation.ones_like(self, dtype=_dt.bool_)
Tensor.split_with_sizes = lambda self, split_sizes, dim=0: shape.split(self, list(split_sizes), dim)
Tensor.unsafe_split = lambda self, split_size, dim=0: shape.split(self, split_size, dim)
Tensor.unsafe_split_with_sizes = lambda self, split_sizes, dim=0: shape.split(self, list(split_sizes), dim)
Tensor.unsafe_chunk = lambda self, chunks, dim=0: shape.chunk(self, chunks, dim)
Tensor.narrow_copy = lambda self, dim, start, length: shape.narrow(self, dim, start, length).clone()


def _float_power_(self, exponent):
    if self.dtype is not _dt.float64:
        raise TypeError(f"float_power_: the result is float64, so the tensor written in place must be float64 too, "
                        f"not {self.dtype.name}; use float_power (out of place) or convert with .double() first")
    return self._inplace(elementwise.float_power(self, exponent), "float_power_")


Tensor.float_power_ = _float_power_


def _apply_(self, callable):
    """x with callable applied to each element, in place (a Python loop, as PyTorch's CPU-only apply_)."""
    from ..autograd.grad_mode import no_grad

    values = np.vectorize(callable, otypes=[self.dtype.np])(self.detach()._data) if self.numel() else self._data
    with no_grad():
        return self._inplace(Tensor._make(np.asarray(values, self.dtype.np)), "apply_")


def _map_(self, other, callable):
    """x[i] = callable(x[i], other[i]) in place (other broadcast to x)."""
    from ..autograd.grad_mode import no_grad

    b = np.broadcast_to(other.detach()._data, self.shape)
    values = np.vectorize(callable, otypes=[self.dtype.np])(self.detach()._data, b) if self.numel() else self._data
    with no_grad():
        return self._inplace(Tensor._make(np.asarray(values, self.dtype.np)), "map_")


Tensor.apply_, Tensor.map_ = _apply_, _map_


def _new(self, *args, **kwargs):
    """The legacy x.new(...): x.new(2, 3) is uninitialised (zeros here) in x's dtype, x.new([1, 2]) a tensor of the
    data, x.new() an empty tensor."""
    dtype = kwargs.pop("dtype", self.dtype)
    if len(args) == 1 and not isinstance(args[0], int) and not (isinstance(args[0], tuple) and all(
            isinstance(a, int) for a in args[0])):
        return creation.tensor(args[0].tolist() if isinstance(args[0], Tensor) else args[0], dtype=dtype)
    return creation.zeros(*args, dtype=dtype) if args else creation.zeros(0, dtype=dtype)


Tensor.new = _new


def _late(module, name):
    """A method calling module.name, imported on first use (torch_extras and nn.functional import this package)."""

    def method(self, *args, **kwargs):
        import importlib

        return getattr(importlib.import_module(module), name)(self, *args, **kwargs)

    method.__name__ = name
    return method


Tensor.frexp = _late("tapegrad.torch_extras", "frexp")
Tensor.nextafter = _late("tapegrad.torch_extras", "nextafter")
Tensor.nextafter_ = lambda self, other: self._inplace(self.nextafter(other), "nextafter_")
Tensor.hardshrink = _late("tapegrad.nn.functional", "hardshrink")
Tensor.prelu = _late("tapegrad.nn.functional", "prelu")
