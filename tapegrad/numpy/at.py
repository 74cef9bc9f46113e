"""JAX's functional index updates: `x.at[idx].set(v)`, `.add`, `.multiply`/`.mul`, `.divide`, `.power`,
`.min`, `.max`, `.get`, each returning a new tensor (x is unchanged) built from the IndexPut primitive, so
the update is differentiable in x and v and traceable.

With repeated indices, as in JAX: `add`, `multiply`, `divide`, `min` and `max` apply every update (a scatter
reduce over the flat positions the index selects); `set` keeps one of them; `power` applies one of them.
"""

from __future__ import annotations

import importlib

_dt = importlib.import_module("tapegrad.dtype")  # tapegrad.dtype the attribute is the DType class (torch.dtype)
from ..ops import index as _index
from ..ops.operands import as_operand
from ..tensor import Tensor


class _At:
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, idx):
        return _Update(self.x, idx)


class _Update:
    """x.at[idx]: the update methods for one index."""

    __slots__ = ("x", "idx")

    def __init__(self, x, idx):
        self.x, self.idx = x, idx

    def _put(self, values, accumulate):
        key = _index._expand_ellipsis(_index._normalize_key(self.idx), self.x.ndim)
        enc, idx = _index._encode_advanced(self.x, key)
        v = as_operand(values, "at", "values")
        if v.dtype is not self.x.dtype:
            v = v.to(self.x.dtype)  # JAX casts the update to the array's dtype
        return _index.index_put_key(self.x, enc, idx, v, accumulate)

    def get(self, **kwargs):
        return self.x[self.idx]

    def set(self, values, **kwargs):
        return self._put(values, False)

    def add(self, values, **kwargs):
        return self._put(values, True)

    def _combine(self, fn, values):
        return self._put(fn(self.x[self.idx], as_operand(values, "at", "values")), False)

    def _scatter(self, values, reduce):
        """Every update applied, repeated positions included: scatter_reduce over the flat positions of x that
        the index selects (an arange of x's size, indexed like x)."""
        from ..ops import arange

        x = self.x
        positions = arange(x.numel()).reshape(x.shape)[self.idx]
        v = as_operand(values, "at", "values").to(x.dtype).broadcast_to(positions.shape)
        flat = x.reshape(-1).scatter_reduce(0, positions.reshape(-1), v.reshape(-1), reduce, include_self=True)
        return flat.reshape(x.shape)

    def multiply(self, values, **kwargs):
        return self._scatter(values, "prod")

    def divide(self, values, **kwargs):
        return self._scatter(1 / as_operand(values, "at", "values").to(self.x.dtype), "prod")

    def power(self, values, **kwargs):
        return self._combine(lambda a, b: a**b, values)

    def min(self, values, **kwargs):
        return self._scatter(values, "amin")

    def max(self, values, **kwargs):
        return self._scatter(values, "amax")

    mul = multiply


def _astype(self, dtype, copy=False):
    return self.to(_dt.as_dtype(dtype))


def install():
    """Tensor.at and Tensor.astype, the two JAX array attributes PyTorch's Tensor lacks."""
    Tensor.at = property(_At)
    Tensor.astype = _astype
