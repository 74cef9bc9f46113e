"""tg.distributed: data parallelism across processes over MPI, with torch.distributed's names.

Start N processes with `mpiexec -n N python script.py` (the group starts by itself on the first call) or call
`init_process_group(backend="mpi")`. The collectives here change a tensor in place, as PyTorch's do;
`tg.distributed.functional` holds the out-of-place, differentiable forms (the same primitives), which also
work inside tg.jit / tg.function. Without mpi4py this package imports, and every call says what to install.
See docs/distributed.md.
"""

from __future__ import annotations

import datetime

from .. import comm
from ..autograd.grad_mode import no_grad
from ..comm import DistributedError
from ..tensor import Tensor
from . import functional
from .functional import ReduceOp
from .tf import DistributedGradientTape, average_gradients

__all__ = [
    "ReduceOp", "DistributedError", "is_available", "init_process_group", "destroy_process_group", "is_initialized",
    "get_rank", "get_world_size", "barrier", "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor",
    "reduce_scatter", "reduce_scatter_tensor", "abort", "functional", "average_gradients",
    "DistributedGradientTape",
]


def is_available() -> bool:
    """Whether mpi4py (and so an MPI library) can be imported."""
    try:
        comm.mpi()
    except DistributedError:
        return False
    return True


def init_process_group(backend: str = "mpi", timeout=None, world_size: int = -1, rank: int = -1, **_ignored):
    """Joins this process to the group of every process that mpiexec started (MPI_COMM_WORLD).

    With MPI the launcher fixes the ranks: world_size and rank, when given, are checked against it.
    timeout (a timedelta or seconds; default 30 minutes, or $TAPEGRAD_DIST_TIMEOUT): how long a collective
    waits for the other ranks before it raises (and, uncaught, aborts the job). `init_method`, `store` and
    other rendezvous arguments of PyTorch are accepted and unused: mpiexec did the rendezvous."""
    if backend not in ("mpi", None):
        raise ValueError(f"init_process_group: backend {backend!r} is not available; tapegrad runs on MPI only "
                         '(backend="mpi")')  # fmt: skip
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    g = comm.init(timeout)
    for name, given, actual in (("world_size", world_size, g.size), ("rank", rank, g.rank)):
        if given not in (-1, None, actual):
            comm.destroy()
            raise DistributedError(f"init_process_group: {name}={given} but mpiexec started this process with "
                                   f"{name} {actual}; leave {name} out (MPI sets it)")  # fmt: skip


def destroy_process_group(group=None) -> None:
    comm.destroy()


def is_initialized() -> bool:
    return comm._group is not None


def get_rank(group=None) -> int:
    return comm.group().rank


def get_world_size(group=None) -> int:
    return comm.group().size


def barrier(group=None, async_op=False):
    comm.barrier()
    return _done(async_op)


def abort(code: int = 1) -> None:
    """Ends every process of the job now (MPI_Abort), e.g. after an error that only this rank saw."""
    comm.abort(code)


# *** in-place collectives (PyTorch's signatures) ***


class _Work:
    """What async_op=True returns: the collective has already completed (it waited, with the group's timeout)."""

    def wait(self, timeout=None) -> bool:
        return True

    def is_completed(self) -> bool:
        return True


def _done(async_op: bool):
    return _Work() if async_op else None


def _write(tensor: Tensor, value: Tensor) -> None:
    """tensor[...] = value in place. A leaf that requires grad (a parameter) is written as PyTorch's c10d
    collectives write it, outside autograd; any other tensor records the write, so gradients flow through."""
    if tensor.is_leaf and tensor.requires_grad:
        with no_grad():
            tensor.copy_(value)
    else:
        tensor.copy_(value)


def _check_group(group) -> None:
    if group is not None:
        raise NotImplementedError("tg.distributed has one group, the world of every rank; pass group=None")


def all_reduce(tensor: Tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """tensor becomes op over every rank's tensor (SUM, AVG, MAX, MIN), on every rank."""
    _check_group(group)
    _write(tensor, functional.all_reduce(tensor, op))
    return _done(async_op)


def broadcast(tensor: Tensor, src: int, group=None, async_op=False):
    """tensor becomes rank src's tensor, on every rank."""
    _check_group(group)
    _write(tensor, functional.broadcast(tensor, src))
    return _done(async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None, async_op=False):
    """output_tensor (world_size times input's first dimension) becomes every rank's input, stacked in rank
    order along dimension 0."""
    _check_group(group)
    _write(output_tensor, functional.all_gather_tensor(input_tensor, 0))
    return _done(async_op)


def all_gather(tensor_list: list, tensor: Tensor, group=None, async_op=False):
    """tensor_list[r] becomes rank r's tensor."""
    _check_group(group)
    _check_list("all_gather", tensor_list)
    gathered = functional.all_gather_tensor(tensor.unsqueeze(0), 0)
    for r, out in enumerate(tensor_list):
        _write(out, gathered[r])
    return _done(async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """output becomes block `rank` (along dimension 0) of op over every rank's input."""
    _check_group(group)
    _write(output, functional.reduce_scatter_tensor(input, op, 0))
    return _done(async_op)


def reduce_scatter(output: Tensor, input_list: list, op=ReduceOp.SUM, group=None, async_op=False):
    """output becomes op over every rank's input_list[rank]."""
    _check_group(group)
    _check_list("reduce_scatter", input_list)
    from ..ops.shape import stack

    _write(output, functional.reduce_scatter_tensor(stack(list(input_list)), op, 0)[0])
    return _done(async_op)


def _check_list(what: str, tensors: list) -> None:
    size = comm.group().size
    if len(tensors) != size:
        raise ValueError(f"{what}: the list must hold one tensor per rank ({size}), got {len(tensors)}")

