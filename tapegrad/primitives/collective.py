"""Collective primitives: all_reduce, all_gather, reduce_scatter and broadcast_from across the ranks of
tg.distributed (the MPI layer is tapegrad/comm.py; the numpy backend calls it).

As primitives they run eagerly, record vjp Nodes, and sit in tg.jit / tg.function graphs as ordinary
equations (the C backend calls their numpy implementation; constant folding skips them: family COLLECTIVE).
The rules are those of the functional collectives of PyTorch and JAX: the ranks together compute one
function of every rank's input, so a rank's cotangent gathers the cotangents of every rank that read its
value. all_reduce(sum)'s vjp is an all_reduce(sum), all_gather's a reduce_scatter and back; broadcast's
is a sum delivered to the source. Every rank must bind the same collectives in the same order with inputs of
one shape and dtype (checked at run time, comm.check_same).
"""

from __future__ import annotations

from .. import comm
from . import batching
from .base import COLLECTIVE, AVal, Primitive, bind, register


class Collective(Primitive):
    family = COLLECTIVE


def _check_op(op: str, differentiable_only: bool = False) -> None:
    comm.reduce_ops(op)
    if differentiable_only and op not in ("sum", "avg"):
        raise NotImplementedError(f"reduce_scatter with op {op!r} has no derivative; use sum or avg")


@register
class AllReduce(Collective):
    """Every rank gets op over the ranks' x (elementwise). max/min share the gradient among tied ranks."""

    name = "all_reduce"
    saves, saves_out = (0,), True  # read by the max/min rules only

    def shape(self, x, *, op):
        _check_op(op)
        return AVal(x.shape, x.dtype)

    def _weights(self, x, out):
        hit = (x == out).to(x.dtype)
        return hit / bind(self, hit, op="sum")

    def vjp(self, g, x, *, out, op):
        if op in ("sum", "avg"):
            return (bind(self, g, op=op),)
        return (bind(self, g, op="sum") * self._weights(x, out),)

    def jvp(self, dxs, xs, out, *, op):
        if op in ("sum", "avg"):
            return bind(self, dxs[0], op=op)
        return bind(self, dxs[0] * self._weights(xs[0], out), op="sum")

    def batch(self, xs, bdims, *, op):
        return bind(self, xs[0], op=op), bdims[0]


@register
class AllGather(Collective):
    """The ranks' x concatenated along axis, rank 0's block first."""

    name = "all_gather"
    vjp_reads_inputs = False

    def shape(self, x, *, axis):
        shape = list(x.shape)
        shape[axis] *= comm.group().size
        return AVal(tuple(shape), x.dtype)

    def vjp(self, g, x, *, out, axis):
        return (bind(ReduceScatter, g, op="sum", axis=axis),)

    def jvp(self, dxs, xs, out, *, axis):
        return bind(self, dxs[0], axis=axis)

    def batch(self, xs, bdims, **params):
        return batching.along_axes(self, xs, bdims, ("axis",), **params)


@register
class ReduceScatter(Collective):
    """op over the ranks' x, cut along axis into one block per rank; rank r keeps block r."""

    name = "reduce_scatter"
    vjp_reads_inputs = False

    def shape(self, x, *, op, axis):
        _check_op(op)
        size = comm.group().size
        if x.shape[axis] % size:
            raise ValueError(f"reduce_scatter: dimension {axis} of size {x.shape[axis]} does not split into {size} "
                             "equal blocks (one per rank)")  # fmt: skip
        shape = list(x.shape)
        shape[axis] //= size
        return AVal(tuple(shape), x.dtype)

    def vjp(self, g, x, *, out, op, axis):
        _check_op(op, differentiable_only=True)
        gathered = bind(AllGather, g, axis=axis)
        return (gathered / comm.group().size if op == "avg" else gathered,)

    def jvp(self, dxs, xs, out, *, op, axis):
        _check_op(op, differentiable_only=True)
        return bind(self, dxs[0], op=op, axis=axis)

    def batch(self, xs, bdims, **params):
        return batching.along_axes(self, xs, bdims, ("axis",), **params)


@register
class BroadcastFrom(Collective):
    """Every rank gets rank src's x."""

    name = "broadcast_from"
    vjp_reads_inputs = False

    def shape(self, x, *, src):
        return AVal(x.shape, x.dtype)

    def vjp(self, g, x, *, out, src):
        total = bind(AllReduce, g, op="sum")  # every rank's output was the source's value
        return (total if comm.group().rank == src else total.zeros_like(),)

    def jvp(self, dxs, xs, out, *, src):
        return bind(self, dxs[0], src=src)

    def batch(self, xs, bdims, *, src):
        return bind(self, xs[0], src=src), bdims[0]
