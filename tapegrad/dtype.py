"""Dtypes and PyTorch's type promotion. Leaf module: depends on numpy (and ml_dtypes for bfloat16)."""

from __future__ import annotations

import numpy as np

try:  # bfloat16 has no numpy dtype of its own; ml_dtypes provides one
    import ml_dtypes

    _BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - ml_dtypes is a declared dependency
    _BF16 = None


class DType:
    """A tapegrad dtype: a name, its numpy dtype and its promotion category (bool < int < float)."""

    __slots__ = ("name", "np", "category", "itemsize", "rank")

    def __init__(self, name: str, np_dtype, category: int, rank: int):
        self.name, self.np, self.category, self.rank = name, np_dtype, category, rank
        self.itemsize = np_dtype.itemsize if np_dtype is not None else 2

    @property
    def is_floating_point(self) -> bool:
        return self.category == FLOAT

    @property
    def is_signed(self) -> bool:
        return self.category != BOOL and not self.name.startswith("uint")

    def __repr__(self) -> str:
        return f"tapegrad.{self.name}"

    def __reduce__(self):  # dtypes are singletons, also across pickling
        return (getattr, (_module(), self.name))


def _module():
    import tapegrad

    return tapegrad


BOOL, INT, FLOAT = 0, 1, 2
bool_ = DType("bool", np.dtype(np.bool_), BOOL, 0)
uint8 = DType("uint8", np.dtype(np.uint8), INT, 1)
int8 = DType("int8", np.dtype(np.int8), INT, 1)
int16 = DType("int16", np.dtype(np.int16), INT, 2)
int32 = DType("int32", np.dtype(np.int32), INT, 3)
int64 = DType("int64", np.dtype(np.int64), INT, 4)
# PyTorch's "shell" unsigned types: they hold data (load, cast, bitwise ops); mixing them with other integer
# dtypes raises, as PyTorch refuses that promotion too.
uint16 = DType("uint16", np.dtype(np.uint16), INT, 2)
uint32 = DType("uint32", np.dtype(np.uint32), INT, 3)
uint64 = DType("uint64", np.dtype(np.uint64), INT, 4)
_SHELL = (uint16, uint32, uint64)
float16 = DType("float16", np.dtype(np.float16), FLOAT, 1)
bfloat16 = DType("bfloat16", _BF16, FLOAT, 1)
float32 = DType("float32", np.dtype(np.float32), FLOAT, 2)
float64 = DType("float64", np.dtype(np.float64), FLOAT, 3)

ALL = (bool_, uint8, int8, int16, int32, int64, uint16, uint32, uint64, float16, bfloat16, float32, float64)
FLOATS = (float16, bfloat16, float32, float64)
_BY_NP = {d.np: d for d in ALL if d.np is not None}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "int": int32, "long": int64, "short": int16})

_default_float = float32


def get_default_dtype() -> DType:
    return _default_float


def set_default_dtype(d) -> None:
    """Sets the dtype of Python floats and of float tensors created without a dtype (float32 at start)."""
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {d}; use tg.float32 or tg.float64")
    _default_float = d


def as_dtype(d) -> DType:
    """Converts a tapegrad dtype, numpy dtype, Python type, torch dtype or name to a DType."""
    if isinstance(d, DType):
        return d
    if d is float:  # as torch: the Python type float means float64 (a float *value* is weakly typed)
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str) or type(d).__module__ == "torch":
        name = str(d).replace("torch.", "")
        if name in _BY_NAME:
            return _BY_NAME[name]
    else:
        try:
            found = _BY_NP.get(np.dtype(d))
        except TypeError:
            found = None
        if found is not None:
            return found
    names = ", ".join(x.name for x in ALL)
    raise TypeError(f"unknown dtype {d!r}; tapegrad supports {names}")


def from_numpy_dtype(npd) -> DType:
    found = _BY_NP.get(npd)
    if found is None:
        if npd.kind == "c":
            raise TypeError(f"complex arrays ({npd}) are not supported by tapegrad; take .real / .imag first")
        raise TypeError(f"numpy dtype {npd} has no tapegrad equivalent; convert it with .astype(np.float32)")
    return found


def promote(a: DType, b: DType) -> DType:
    """The smallest dtype both a and b convert to without loss, as torch.promote_types computes it."""
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == FLOAT:
        if {a.name, b.name} == {"float16", "bfloat16"}:
            return float32
        return a if a.rank >= b.rank else b
    if a.category == INT:
        if a in _SHELL or b in _SHELL:
            raise TypeError(
                f"promotion of {a.name} with {b.name} is not supported (as in PyTorch, uint16/uint32/uint64 mix "
                f"only with themselves, floats and Python numbers); convert one first, e.g. x.to(tg.int64)"
            )
        if uint8 in (a, b):  # uint8 with a signed type needs the next signed size up
            other = b if a is uint8 else a
            return int16 if other is int8 else other
        return a if a.rank >= b.rank else b
    return a


def _combine_categories(higher, lower):
    """Mirrors PyTorch: a lower-priority operand only wins when its category is higher."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.category == FLOAT:
        return higher
    if higher is bool_ or lower.category == FLOAT:
        return promote(higher, lower)
    return higher


def result_type(*operands) -> DType:
    """The dtype of an elementwise op on operands (Tensors or Python scalars), by PyTorch's rules.

    Dimensioned tensors outrank zero-dim tensors, which outrank Python scalars (weakly typed): a
    lower-ranked operand changes the result only when it is of a higher category (bool < int < float).
    A weak tensor (Tensor._weak: converted from a Python number or nested list) ranks as a Python scalar,
    which is JAX's rule for Python values too: 2 * float16 is float16, 2.0 * int32 the default float.
    """
    dim = zero = wrapped = None
    for x in operands:
        dt = getattr(x, "dtype", None)
        if isinstance(x, np.ndarray):  # arrays act as tensors; 0-d ones and numpy scalars as Python scalars
            dt = from_numpy_dtype(x.dtype) if x.ndim > 0 else None
            x = x if x.ndim > 0 else x.item()
        if isinstance(dt, DType) and x._weak:  # a Python number or list converted by ops/operands.py
            wrapped = dt if wrapped is None else promote(wrapped, dt)
        elif isinstance(dt, DType):
            if x.ndim > 0:
                dim = dt if dim is None else promote(dim, dt)
            else:
                zero = dt if zero is None else promote(zero, dt)
        else:
            dt = scalar_dtype(x)
            wrapped = dt if wrapped is None else promote(wrapped, dt)
    return _combine_categories(dim, _combine_categories(zero, wrapped))


def scalar_dtype(x) -> DType:
    if isinstance(x, (bool, np.bool_)):
        return bool_
    if isinstance(x, (int, np.integer)):
        return int64
    if isinstance(x, (float, np.floating)):
        return _default_float
    raise TypeError(f"expected a Tensor or a Python number, got {type(x).__name__} ({x!r})")
