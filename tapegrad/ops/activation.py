"""Activations PyTorch has both as tensor methods and as functions: relu, softmax, log_softmax.

nn.functional re-exports them (with its `inplace=` / `_stacklevel` spellings); they live here so that
`x.softmax(1)` and `tg.softmax` need no import of nn.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import dtype as dt
from ..primitives import base as _base
from ..tensor import Tensor
from .elementwise import exp, isinf, log, where


def relu(input: Tensor) -> Tensor:
    """max(x, 0); the gradient at 0 is 0 and nan propagates, as in PyTorch.

    >>> tg.relu(tg.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 2.])
    """
    return where(input <= 0, 0, input)


def _softmax_dim(op, input, dim, dtype):
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.category != dt.FLOAT:
        raise TypeError(f"{op}: expects a floating-point input, got {input.dtype.name}; convert with .float()")
    if dim is None:  # PyTorch's deprecated implicit choice
        warnings.warn(f"{op}: implicit dimension choice is deprecated; pass dim= explicitly", stacklevel=3)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return input, dim


def _shifted(x, dim):
    """x minus its (detached) maximum along dim; a row whose maximum is infinite is not shifted (no inf - inf).
    Over an empty dim there is no maximum and nothing to shift: the result is empty, as in PyTorch."""
    if x.shape[dim] == 0:
        return x
    if not (_base._ANYWHERE[0] and _base.INTERPRETERS) and type(x._data) is np.ndarray:
        # eager: the shift is a constant, computed on the array (three tensor ops fewer per call)
        m = np.max(x._data, axis=dim, keepdims=True)
        return x - Tensor._make(np.where(np.isinf(m), np.zeros((), m.dtype), m))
    m = x.detach().amax(dim, keepdim=True)
    return x - where(isinf(m), 0.0, m)


def softmax(input: Tensor, dim=None, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along dim, shifted by the maximum for stability.

    >>> tg.softmax(tg.tensor([0.0, 1.0]), dim=0)
    tensor([0.2689, 0.7311])
    """
    input, dim = _softmax_dim("softmax", input, dim, dtype)
    e = exp(_shifted(input, dim))
    return e / e.sum(dim, keepdim=True)


def log_softmax(input: Tensor, dim=None, dtype=None) -> Tensor:
    """log(softmax(x)) along dim, as (x - max) - log(sum(exp(x - max))).

    NOTE: not x - logsumexp(x): for large logits both terms are large and their float32 difference loses the
    small result (PyTorch's kernel also subtracts from the shifted values).

    >>> tg.log_softmax(tg.tensor([0.0, 0.0]), dim=0)
    tensor([-0.6931, -0.6931])
    """
    input, dim = _softmax_dim("log_softmax", input, dim, dtype)
    s = _shifted(input, dim)
    return s - log(exp(s).sum(dim, keepdim=True))


# Tensor methods: tensor.name(...) == name(tensor, ...) (attached by ops/__init__.py)
_METHODS = """relu softmax log_softmax"""
# of those, the ones that also get an in-place form tensor.name_(...)
_INPLACE = """relu"""
