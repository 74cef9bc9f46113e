"""tg.nn.parallel.DistributedDataParallel: PyTorch's DDP over tg.distributed (MPI).

Each rank holds a full replica and runs forward and backward on its own share of the batch; the gradients
are then averaged over the ranks, so every replica takes the same optimizer step. The averaging overlaps
the backward pass: parameters are grouped into buckets (about `bucket_cap_mb` each, in reverse order of
registration, roughly the order backward produces their gradients); a post-accumulate-grad hook counts the
gradients of each bucket and, once all are in, copies them into the bucket's flat buffer and starts a
non-blocking all-reduce (MPI_Iallreduce), while backward goes on computing the next layers' gradients. A
callback queued on the engine waits for the outstanding buckets when the backward pass ends and writes the
averages into `.grad`.

Buckets start in index order on every rank (a ready bucket waits for the ones before it): MPI matches
collectives by order, so every rank must issue them in one order whatever order its hooks fire in.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .. import comm
from ..autograd import engine
from ..autograd.grad_mode import STATE, no_grad
from ..tensor import Tensor
from .module import Module


class _Bucket:
    """A group of parameters of one dtype whose gradients travel in one flat buffer."""

    def __init__(self, params: list):
        self.params = params
        self.sizes = [p._data.size for p in params]
        self.buffer = np.empty(sum(self.sizes), comm.arithmetic_dtype(params[0]._data.dtype))
        self.ready, self.request = 0, None

    def fill(self) -> None:
        """Copy the gradients in; a parameter that got none this step (unused in forward) contributes zeros."""
        start = 0
        for p, n in zip(self.params, self.sizes):
            view = self.buffer[start : start + n]
            if p.grad is None:
                view[...] = 0
            else:
                view[...] = p.grad._data.reshape(-1)
            start += n

    def write_back(self, world: int) -> None:
        """The average into every parameter's .grad (each rank then holds the same gradients)."""
        self.buffer /= world
        start = 0
        for p, n in zip(self.params, self.sizes):
            p.grad = Tensor._make(self.buffer[start : start + n].reshape(p._data.shape).astype(p._data.dtype))
            start += n


def _buckets(params: list, cap_bytes: int) -> list:
    """Parameters in reverse registration order, cut into buckets of at most cap_bytes (one dtype each; a
    parameter larger than the cap gets a bucket of its own)."""
    buckets, current, size = [], [], 0
    for p in reversed(params):
        nbytes = p._data.nbytes
        if current and (size + nbytes > cap_bytes or p._data.dtype != current[0]._data.dtype):
            buckets.append(_Bucket(current))
            current, size = [], 0
        current.append(p)
        size += nbytes
    if current:
        buckets.append(_Bucket(current))
    return buckets


class DistributedDataParallel(Module):
    """Wraps `module` for data-parallel training: at wrap time every rank gets rank 0's parameters and
    buffers; during backward the gradients are averaged over the ranks, bucket by bucket, overlapping the
    backward pass. Call it as the module; `model.module` is the wrapped one (its state_dict has no
    "module." prefix, which is the one to save). `no_sync()` skips the averaging for gradient accumulation.
    Under tg.function / tg.jit average the gradients inside the step with tg.distributed.functional.all_reduce
    instead (these hooks need eager gradients).

    Args (PyTorch's; device_ids, output_device, find_unused_parameters and gradient_as_bucket_view are
    accepted for compatibility): broadcast_buffers: copy rank 0's buffers (e.g. BatchNorm's running
    statistics) to every rank before each forward. bucket_cap_mb: the bucket size (PyTorch's 25 MB)."""

    def __init__(self, module: Module, device_ids=None, output_device=None, broadcast_buffers: bool = True,
                 bucket_cap_mb: float = 25.0, find_unused_parameters: bool = False,
                 gradient_as_bucket_view: bool = False, **_ignored):  # fmt: skip
        super().__init__()
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True
        self._group = comm.group()
        params = list({id(p): p for p in module.parameters() if p.requires_grad}.values())
        self._sync(list(module.parameters()) + list(module.buffers()))
        self._buckets = _buckets(params, int(bucket_cap_mb * 2**20))
        self._bucket_of = {id(p): b for b in self._buckets for p in b.params}
        self._next = 0  # the first bucket of this backward pass not yet started
        self._in_backward = False
        for p in params:
            p.register_post_accumulate_grad_hook(self._on_grad)

    def forward(self, *args, **kwargs):
        if self.broadcast_buffers:
            self._sync(list(self.module.buffers()))
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Gradients of the backward passes inside accumulate locally; the first backward after it averages
        the accumulated sums."""
        before, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = before

    def _sync(self, tensors) -> None:
        """Rank 0's values into every rank's tensors (a shape or dtype that differs names both ranks)."""
        if self._group.size == 1:
            return
        with no_grad():
            for t in tensors:
                t._data[...] = comm.broadcast(t._data, 0, what="DistributedDataParallel: copying rank 0's state")

    # *** the gradient averaging ***

    def _on_grad(self, p) -> None:
        if not self.require_backward_grad_sync or self._group.size == 1:
            return
        if p.grad._interp is not None or STATE.enabled and p.grad.requires_grad:
            raise RuntimeError(
                "DistributedDataParallel averages eager gradients; inside tg.function / tg.jit (or with "
                "create_graph=True) average them in the step with tg.distributed.functional.all_reduce(g, 'avg')"
            )
        if not self._in_backward:
            self._in_backward = True
            engine.queue_callback(self._finish)
        bucket = self._bucket_of[id(p)]
        bucket.ready += 1
        self._start_ready()

    def _start_ready(self) -> None:
        """Start every bucket, in index order, whose gradients are all in; poke the running ones, since MPI
        moves non-blocking messages on only inside MPI calls."""
        while self._next < len(self._buckets) and self._buckets[self._next].ready == len(self._buckets[self._next].params):
            self._start(self._buckets[self._next])
            self._next += 1
        for b in self._buckets[: self._next]:
            if b.request is not None:
                b.request.Test()

    def _start(self, bucket: _Bucket) -> None:
        bucket.fill()
        bucket.request = self._group.comm.Iallreduce(comm.mpi().IN_PLACE, bucket.buffer, op=comm.mpi().SUM)

    def _finish(self) -> None:
        """End of backward: start what is left (parameters without a gradient this step count as zero), wait,
        and write the averages."""
        try:
            for bucket in self._buckets[self._next :]:
                self._start(bucket)
            for bucket in self._buckets:
                comm.wait(bucket.request, "DistributedDataParallel: averaging gradients")
                bucket.write_back(self._group.size)
        finally:
            for bucket in self._buckets:
                bucket.ready, bucket.request = 0, None
            self._next, self._in_backward = 0, False
