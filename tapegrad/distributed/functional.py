"""Out-of-place, differentiable collectives (PyTorch's functional collectives; JAX's psum and all_gather):
each returns a new tensor, records a vjp Node like any op, and is an equation in tg.jit / tg.function graphs.

    >>> g = tg.distributed.functional.all_reduce(local_grad, "avg")   # e.g. inside a jitted training step
"""

from __future__ import annotations

from .. import comm
from ..primitives import PRIMITIVES, bind
from ..tensor import Tensor


class ReduceOp:
    """The reductions of all_reduce and reduce_scatter (PyTorch's names); plain strings work too."""

    SUM, AVG, MAX, MIN = "sum", "avg", "max", "min"


def _op(op) -> str:
    name = str(getattr(op, "name", op)).lower()  # a ReduceOp attribute, "sum", "SUM", or an enum member's name
    comm.reduce_ops(name)
    return name


def _dim(x: Tensor, dim: int) -> int:
    if not -x.ndim <= dim < max(x.ndim, 1):
        raise IndexError(f"dimension {dim} is out of range for a tensor of {x.ndim} dimensions")
    return dim % x.ndim


def _tensor(x, what: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{what} takes a Tensor, got {type(x).__name__}")
    return x


def all_reduce(x: Tensor, op=ReduceOp.SUM, group=None) -> Tensor:
    """op (sum, avg, max, min) over every rank's x; the same result on every rank."""
    return bind(PRIMITIVES["all_reduce"], _tensor(x, "all_reduce"), op=_op(op))


def all_gather_tensor(x: Tensor, gather_dim: int = 0, group=None) -> Tensor:
    """Every rank's x concatenated along gather_dim, rank 0's first."""
    x = _tensor(x, "all_gather_tensor")
    return bind(PRIMITIVES["all_gather"], x, axis=_dim(x, gather_dim))


def reduce_scatter_tensor(x: Tensor, op=ReduceOp.SUM, scatter_dim: int = 0, group=None) -> Tensor:
    """op over every rank's x, cut along scatter_dim into one block per rank: rank r gets block r."""
    x = _tensor(x, "reduce_scatter_tensor")
    return bind(PRIMITIVES["reduce_scatter"], x, op=_op(op), axis=_dim(x, scatter_dim))


def broadcast(x: Tensor, src: int = 0, group=None) -> Tensor:
    """Rank src's x, on every rank."""
    comm._check_rank(src, "src")
    return bind(PRIMITIVES["broadcast_from"], _tensor(x, "broadcast"), src=int(src))
