"""PyTorch's spelling of the op signatures: its keyword names (matmul(input=, other=)) and `out=`.

The ops name their tensor parameters x, y, t, ...; PyTorch calls them input, other, tensor1, .... Rather than
rename every parameter, ops/__init__.py wraps the public functions so that PyTorch's keywords are accepted
too; a call without keywords goes straight through.
"""

from __future__ import annotations

import functools
import inspect
import warnings

import numpy as np

from ..autograd.grad_mode import STATE
from ..errors import GradError

# our parameter name -> PyTorch's, by position: the first tensor is `input`, a second one `other`
_FIRST = {"x": "input", "t": "input", "self": "input"}
_SECOND = {"y": "other", "t1": "tensor1"}
_ANY = {"t2": "tensor2", "diagonal_": "diagonal", "dim1_": "dim1",
        # numpy's spellings, which PyTorch also accepts for dim (x.sum(axis=1)) and JAX code uses on arrays
        "dim": "axis", "keepdim": "keepdims"}


def torch_keywords(fn) -> dict:
    """{PyTorch keyword: fn's parameter name} where the two differ."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return {}
    renames = {}
    for i, name in enumerate(names):
        theirs = _ANY.get(name) or (_FIRST.get(name) if i == 0 else _SECOND.get(name) if i == 1 else None)
        if theirs and theirs not in names:
            renames[theirs] = name
    return renames


def _translate(kwargs, renames):
    for theirs, ours in renames.items():
        if theirs in kwargs:
            kwargs[ours] = kwargs.pop(theirs)
    return kwargs


def accept_torch_keywords(fn):
    """fn, also callable with PyTorch's keyword names (for Tensor methods: x.add(other=y))."""
    renames = torch_keywords(fn)
    if not renames:
        return fn

    @functools.wraps(fn)
    def method(*args, **kwargs):
        return fn(*args, **_translate(kwargs, renames)) if kwargs else fn(*args)

    return method


def torch_function(fn):
    """fn with PyTorch's keyword names and `out=` (the result written into given tensors)."""
    if "out" in inspect.signature(fn).parameters:
        return accept_torch_keywords(fn)
    renames = torch_keywords(fn)

    @functools.wraps(fn)
    def function(*args, out=None, **kwargs):
        result = fn(*args, **_translate(kwargs, renames)) if kwargs else fn(*args)
        return result if out is None else write_out(fn.__name__, result, out)

    return function


def write_out(op, result, out):
    """Copy result into out (a tensor, or a tuple of them for ops returning several) and return out.

    As in PyTorch: out is resized to the result's shape (with a warning when it had elements), and out= is
    refused when the result would need a gradient."""
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{op}: out must be a tuple of {len(result)} tensors for this op")
        written = [write_out(op, r, o) for r, o in zip(result, out)]
        return type(result)(*written) if hasattr(result, "_fields") else tuple(written)
    from ..tensor import Tensor

    if not isinstance(out, Tensor):
        raise TypeError(f"{op}: out must be a Tensor, got {type(out).__name__}")
    if not isinstance(result, Tensor):
        result = Tensor._make(np.asarray(result))
    if STATE.enabled and (result.requires_grad or out.requires_grad):
        raise GradError(
            f"{op}: functions with out=... arguments don't support automatic differentiation, but one of the "
            "arguments requires grad. Call it without out= (or under tg.no_grad())"
        )
    if out.shape != result.shape:
        if out.numel():
            warnings.warn(
                f"{op}: an output with one or more elements was resized from {tuple(out.shape)} to "
                f"{tuple(result.shape)}; resize it to the right shape (or pass an empty tensor)",
                stacklevel=3,
            )
        out._data = np.empty(result.shape, out.dtype.np)
    return out._inplace(result, f"{op}(out=)")
