"""Reverse mode through a compiled call: grad(jit(f)), loss.backward() after a tg.function call.

A call whose inputs (explicit or captured) require grad gets one Node, GraphNode, on its outputs. Its
backward is itself a traced function, built once per graph: it replays the graph on tensors (eval_graph),
runs the one reverse sweep at trace time, and keeps the gradient equations. Depends on trace/function.py
and autograd/engine.py.
"""

from __future__ import annotations

import numpy as np

from ..autograd import engine
from ..autograd.grad_mode import enable_grad, no_grad
from ..dtype import FLOAT
from ..errors import GradError
from ..primitives.base import bind
from ..tensor import Tensor


def eval_graph(graph, args: list, saved: dict | None = None) -> list:
    """Run graph on Tensors by binding each equation's primitive (differentiable, traceable).

    saved: Var id -> Tensor, the outputs of loops that a compiled call kept (see _with_tapes): such a loop is not
    run again, its Node is made from what it returned then."""
    env = {}
    for v, a in zip(graph.inputs, args):
        env[v.id] = a

    def read(v):
        return Tensor._make(v.const) if v.const is not None else env[v.id]

    for e in graph.eqns:
        ins = [read(v) for v in e.inputs]
        if saved and e.outputs and e.outputs[0].id in saved:
            outs = e.prim.bind_saved(ins, e.params, [saved[v.id] for v in e.outputs])
        elif getattr(e.prim, "multiple_results", False):
            outs = e.prim.bind_tensors(ins, e.params)
        else:
            outs = [bind(e.prim, *ins, **e.params)]
        for v, o in zip(e.outputs, outs):
            env[v.id] = o
    return [read(v) for v in graph.outputs]


class GraphNode(engine.Node):
    """The Node of one compiled call: its vjp is the backward graph of the call's graph."""

    def __init__(self, cf, values, edges, n_out, saved=(), saved_ids=()):
        super().__init__(edges)
        self.cf, self.values, self.num_outputs = cf, values, n_out
        self.saved, self.saved_ids = saved, saved_ids  # what the call's loops returned (_with_tapes)
        self.out_avals = [(v.shape, v.dtype) for v in cf.graph.outputs[:n_out]]
        # NOTE: the backward recomputes from the inputs (and the loops' kept tapes), so an input changed in place
        # after the call would give a gradient of neither point: refused, as PyTorch refuses a changed saved tensor.
        # Every input counts (stricter than eager, whose ops check only what their rule reads).
        self.versions = [(v._version, v._version.value) for v in values]

    def name(self) -> str:
        return f"Call[{self.cf.graph.name}]Backward"

    def release(self) -> None:
        self.freed = True
        self.values = self.saved = self.versions = None

    def apply(self, grads, create_graph):
        from ..ops.creation import zeros

        if self.freed:
            raise GradError(engine._FREED_MESSAGE.format(node=self.name()))
        for i, (counter, version) in enumerate(self.versions):
            if counter.value != version:
                raise engine._version_error(self, f"input {i} of the call ({engine._describe(self.values[i])})",
                                            version, counter)
        cts = [g if g is not None else zeros(*shape, dtype=dtype) for g, (shape, dtype) in zip(grads, self.out_avals)]
        needs = tuple(e is not None for e in self.edges)
        # NOTE: a backward pass that is itself differentiated (create_graph) runs the loops again from the inputs:
        # the kept tapes are constants, so a second derivative would miss what flows through them
        if self.saved_ids and not create_graph:
            got = _backward_function(self.cf, needs, self.saved_ids)(*self.values, *self.saved, *cts)
        else:
            got = _backward_function(self.cf, needs)(*self.values, *cts)
        out, k = [], 0
        for e in self.edges:
            if e is None:
                out.append(None)
            else:
                out.append(got[k])
                k += 1
        return out


def _backward_function(cf, needs, saved_ids=()):
    """The tg.function computing the input cotangents of a call of cf from its inputs (and, with saved_ids, the
    outputs its loops returned, in that order) and its output cotangents."""
    cache = cf.__dict__.setdefault("_bwd", {})
    fn = cache.get((needs, saved_ids))
    if fn is None:
        from .function import Function

        graph, n_out, n_in, n_saved = cf.graph, cf.n_explicit, len(needs), len(saved_ids)

        # NOTE: flat positional tensors, so that the calls of a training loop take tg.function's fast path
        def backward_of_call(*flat):
            from ..autograd.api import grad

            values, kept, cts = flat[:n_in], flat[n_in:n_in + n_saved], flat[n_in + n_saved:]
            with enable_grad():  # backward sweeps run under no_grad; this trace must record
                xs = [v.detach().requires_grad_() if need else v.detach() for v, need in zip(values, needs)]
                outs = eval_graph(graph, xs, dict(zip(saved_ids, kept)))[:n_out]
                pairs = [(o, c) for o, c in zip(outs, cts) if o._rg]
                wrt = [x for x, need in zip(xs, needs) if need]
                gs = grad([o for o, _ in pairs], wrt, [c for _, c in pairs], allow_unused=True) if pairs else [None] * len(wrt)
            return [g if g is not None else x.zeros_like() for g, x in zip(gs, wrt)]

        fn = cache[(needs, saved_ids)] = Function(backward_of_call, name=f"{graph.name}_backward", backend=cf.backend)
    return fn


def _with_tapes(cf):
    """(the ConcreteFunction to run for a call of cf that is to be differentiated, the Var ids of the loop outputs it
    returns besides cf's outputs). A `while` loop whose inputs require grad keeps a tape, the carries before each trip;
    when cf's graph has such loops, the function returned is cf's graph that also returns each one's final carries
    and tape, so that the backward pass reads them instead of running the loops again (trip by trip, one small plan
    call each). Otherwise cf itself. Cached on cf."""
    got = cf.__dict__.get("_with_tapes")
    if got is None:
        from .control import WHILE
        from .function import ConcreteFunction
        from .ir import Graph

        g, n = cf.graph, cf.n_explicit
        kept = [v for e in g.eqns if e.prim is WHILE and e.params.get("tape") for v in e.outputs]
        if not kept or cf.symbols:
            got = (cf, ())
        else:
            graph = Graph(g.inputs, g.eqns, g.outputs[:n] + kept + g.outputs[n:], g.name)
            struct = (tuple, (cf.out_struct, (tuple, ("*",) * len(kept))))
            fcf = ConcreteFunction(graph, cf.captures, cf.writebacks, cf.grad_writes, struct, n + len(kept),
                                   cf.grad_reads, cf.backend)
            got = (fcf, tuple(v.id for v in kept))
        cf.__dict__["_with_tapes"] = got
    return got


def call_with_grad(function, cf, leaves, args, kwargs):
    """Run cf and attach a GraphNode to its float outputs when an input or a captured tensor requires grad."""
    from .function import flatten, unflatten

    captured = [c[1].grad if isinstance(c, tuple) else c for c in cf.captures]
    values = [x if isinstance(x, Tensor) else Tensor._make(np.asarray(x)) for x in leaves] + captured
    run, saved_ids = _with_tapes(cf)
    with no_grad():
        result = run(*leaves)
    saved = ()
    if saved_ids:
        result, saved = result
    outs, struct, _ = flatten(result)
    edges = [engine.edge_of(v) if v._rg and not isinstance(c, tuple) else None
             for v, c in zip(values, [None] * len(leaves) + list(cf.captures))]
    if not any(edges):
        return result
    if saved:  # a kept carry that is also an output: the caller may change that one in place, so keep a copy
        shown = {id(o._data) for o in outs}
        saved = [Tensor._make(s._data.copy()) if id(s._data) in shown else s for s in saved]
    node = GraphNode(cf, values, edges, len(outs), saved, saved_ids)
    for k, o in enumerate(outs):
        if o.dtype.category == FLOAT:
            o._rg, o.grad_fn, o._output_nr = True, node, k
    return unflatten(struct, outs)
