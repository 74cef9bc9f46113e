"""Where op arguments become tensors: Python numbers, nested lists and numpy arrays, once for every op.

`accepts_values(fn)` wraps a composite so that its tensor parameters (found by name in its signature,
OPERANDS) accept anything `as_operand` converts; ops/__init__.py applies it to every exported op and
Tensor method, so no composite converts for itself. Python numbers and lists become *weak* tensors
(`Tensor._weak`): in promotion (dtype.result_type) they count as Python scalars do, so `2 * float16`
stays float16 and `2.0 * int32` is the default float, as in JAX and PyTorch.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from .. import dtype as dt
from ..tensor import Tensor

# Parameter names that hold tensor operands across ops/ (the first parameter of nearly every op, plus
# the second operand of binary and linear-algebra ops). Sizes, dims and fill values are never here.
OPERANDS = frozenset(
    "x y input other weight bias v t t1 t2 end condition mask source src index values a b".split()
)
# Parameters holding a sequence of operands (cat, stack, einsum's *operands, broadcast_tensors).
SEQUENCES = frozenset("tensors operands arrays".split())
_NUMBERS = (bool, int, float, np.number, np.bool_)


def weak(value) -> Tensor:
    """A Python number or nested list of numbers as a weakly typed tensor (dtype of its kind: bool, int64
    or the default float)."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf" or arr.dtype == object:
        raise TypeError(f"cannot make a tensor of {value!r}")
    kind = dt.bool_ if arr.dtype.kind == "b" else dt.int64 if arr.dtype.kind in "iu" else dt.get_default_dtype()
    out = Tensor._make(arr.astype(kind.np, copy=False))
    out._weak = True
    out._exact = arr  # the value at full precision: promoted to float64 it must be 0.1, not float32(0.1)
    return out


def as_operand(value, op: str = "op", name: str = "x") -> Tensor:
    """value as a tensor: tensors as they are, Python numbers and lists of them weakly typed, numpy arrays
    as tensors of their dtype (a 0-d array or numpy scalar counts as a number), lists holding tensors
    stacked (so gradients reach them). Anything else is a TypeError naming the op and the argument."""
    if isinstance(value, Tensor):
        return value
    if type(value).__name__ == "Dim":  # a symbolic size (trace/dims.py) used as a number: x.sum() / x.shape[0]
        return value.owner.size_tensor(value)
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return Tensor._make(value) if value.dtype.kind in "biuf" else _refuse(value, op, name)
    if isinstance(value, (_NUMBERS, np.ndarray)):
        return weak(value)
    if isinstance(value, (list, tuple)):
        if _holds_tensor(value):
            from .shape import stack

            return stack([as_operand(v, op, name) for v in value])
        try:
            return weak(value)
        except (TypeError, ValueError):
            pass
    return _refuse(value, op, name)


def as_leaf(value):
    """A pytree leaf as a transform's argument: numbers and numpy arrays become tensors (grad(f)(2.0) is a
    0-d float32, as in JAX); anything else (tensors, None, strings) is left for the transform to judge."""
    if isinstance(value, (_NUMBERS, np.ndarray)):
        return as_operand(value, "transform", "argument")
    return value


def _holds_tensor(seq) -> bool:
    return any(isinstance(v, Tensor) or (isinstance(v, (list, tuple)) and _holds_tensor(v)) for v in seq)


def _refuse(value, op, name):
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise TypeError(
        f"{op}: argument '{name}' must be a tensor, a Python number or a nested list of numbers, "
        f"got {type(value).__name__} ({shown})"
    )


def _operand_slots(fn):
    """(position, name) of fn's operand parameters, (position, name) of sequence parameters, and whether
    the sequence is *args."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return (), (), False
    singles = tuple((i, p.name) for i, p in enumerate(params)
                    if p.name in OPERANDS and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    seqs = tuple((i, p.name) for i, p in enumerate(params) if p.name in SEQUENCES)
    star = bool(seqs) and params[seqs[0][0]].kind == inspect.Parameter.VAR_POSITIONAL
    return singles, seqs, star


def accepts_values(fn):
    """fn with its operand parameters converted by as_operand. The first operand converts from anything
    convertible; a later one is left alone when it is a number (binary ops promote numbers themselves,
    without a cast) and converted otherwise (lists, arrays)."""
    if getattr(fn, "_accepts_values", False):
        return fn
    singles, seqs, star = _operand_slots(fn)
    if not singles and not seqs:
        return fn
    op = fn.__name__
    first = singles[0][1] if singles else None

    def convert(value, name):
        if value is None or isinstance(value, Tensor):
            return value
        if name != first and isinstance(value, _NUMBERS):
            return value
        return as_operand(value, op, name)

    if not seqs and len(singles) <= 2 and all(i == n for n, (i, _) in enumerate(singles)):
        return _fast(fn, singles, convert)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if singles or (seqs and not star):
            args = list(args)
            for i, name in singles + (seqs if not star else ()):
                if i < len(args):
                    args[i] = _convert_seq(args[i], op, name) if name in SEQUENCES else convert(args[i], name)
                elif name in kwargs:
                    v = kwargs[name]
                    kwargs[name] = _convert_seq(v, op, name) if name in SEQUENCES else convert(v, name)
        if star:
            i = seqs[0][0]
            rest = args[i:]
            if len(rest) == 1 and isinstance(rest[0], (list, tuple)) and _holds_tensor(rest[0]):
                rest = (_convert_seq(rest[0], op, seqs[0][1]),)  # einsum(eq, [a, b]): a list of operands
            else:
                rest = [as_operand(a, op, seqs[0][1]) for a in rest]
            args = list(args[:i]) + list(rest)
        return fn(*args, **kwargs)

    wrapper._accepts_values = True
    return wrapper


def _fast(fn, singles, convert):
    """The wrapper for the common layouts, operands first (unary and binary ops): the eager hot path, so
    it only tests the classes when every operand is already a plain tensor."""
    (_, a), *rest = singles
    if not rest:
        @functools.wraps(fn)
        def unary(x=_MISSING, *args, **kwargs):
            if x.__class__ is not Tensor:
                x = _take(x, a, kwargs, convert)
                if x is _MISSING:
                    return fn(*args, **kwargs)  # fn names what is missing
            return fn(x, *args, **kwargs)

        unary._accepts_values = True
        return unary
    b = rest[0][1]

    @functools.wraps(fn)
    def binary(x=_MISSING, y=_MISSING, *args, **kwargs):
        if x.__class__ is not Tensor:
            x = _take(x, a, kwargs, convert)
        if y.__class__ is not Tensor:
            y = _take(y, b, kwargs, convert)
        if x is _MISSING or y is _MISSING:  # fn names what is missing
            return fn(*[v for v in (x, y) if v is not _MISSING], *args, **kwargs)
        return fn(x, y, *args, **kwargs)

    binary._accepts_values = True
    return binary


def _take(value, name, kwargs, convert):
    if value is _MISSING:
        return convert(kwargs.pop(name), name) if name in kwargs else _MISSING
    return convert(value, name)


class _Missing:
    def __repr__(self):
        return "<missing>"


_MISSING = _Missing()


def _convert_seq(value, op, name):
    if isinstance(value, Tensor):
        return value  # cat(tensor) iterates it, as PyTorch does
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{op}: argument '{name}' must be a list or tuple of tensors, got {type(value).__name__}")
    return [as_operand(v, op, name) for v in value]
