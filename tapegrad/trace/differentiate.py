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
from ..primitives.base import bind
from ..tensor import Tensor


def eval_graph(graph, args: list) -> list:
    """Run graph on Tensors by binding each equation's primitive (differentiable, traceable)."""
    env = {}
    for v, a in zip(graph.inputs, args):
        env[v.id] = a

    def read(v):
        return Tensor._make(v.const) if v.const is not None else env[v.id]

    for e in graph.eqns:
        ins = [read(v) for v in e.inputs]
        if getattr(e.prim, "multiple_results", False):
            outs = e.prim.bind_tensors(ins, e.params)
        else:
            outs = [bind(e.prim, *ins, **e.params)]
        for v, o in zip(e.outputs, outs):
            env[v.id] = o
    return [read(v) for v in graph.outputs]


class GraphNode(engine.Node):
    """The Node of one compiled call: its vjp is the backward graph of the call's graph."""

    def __init__(self, cf, values, edges, n_out):
        super().__init__(edges)
        self.cf, self.values, self.num_outputs = cf, values, n_out
        self.out_avals = [(v.shape, v.dtype) for v in cf.graph.outputs[:n_out]]

    def name(self) -> str:
        return f"Call[{self.cf.graph.name}]Backward"

    def apply(self, grads, create_graph):
        from ..ops.creation import zeros

        cts = [g if g is not None else zeros(*shape, dtype=dtype) for g, (shape, dtype) in zip(grads, self.out_avals)]
        bwd = _backward_function(self.cf, tuple(e is not None for e in self.edges))
        got = bwd(*self.values, *cts)
        out, k = [], 0
        for e in self.edges:
            if e is None:
                out.append(None)
            else:
                out.append(got[k])
                k += 1
        return out


def _backward_function(cf, needs):
    cache = cf.__dict__.setdefault("_bwd", {})
    fn = cache.get(needs)
    if fn is None:
        from .function import Function

        graph, n_out, n_in = cf.graph, cf.n_explicit, len(needs)

        # NOTE: flat positional tensors, so that the calls of a training loop take tg.function's fast path
        def backward_of_call(*flat):
            from ..autograd.api import grad

            values, cts = flat[:n_in], flat[n_in:]
            with enable_grad():  # backward sweeps run under no_grad; this trace must record
                xs = [v.detach().requires_grad_() if need else v.detach() for v, need in zip(values, needs)]
                outs = eval_graph(graph, xs)[:n_out]
                pairs = [(o, c) for o, c in zip(outs, cts) if o._rg]
                wrt = [x for x, need in zip(xs, needs) if need]
                gs = grad([o for o, _ in pairs], wrt, [c for _, c in pairs], allow_unused=True) if pairs else [None] * len(wrt)
            return [g if g is not None else x.zeros_like() for g, x in zip(gs, wrt)]

        fn = cache[needs] = Function(backward_of_call, name=f"{graph.name}_backward", backend=cf.backend)
    return fn


def call_with_grad(function, cf, leaves, args, kwargs):
    """Run cf and attach a GraphNode to its float outputs when an input or a captured tensor requires grad."""
    from .function import flatten, unflatten

    captured = [c[1].grad if isinstance(c, tuple) else c for c in cf.captures]
    values = [x if isinstance(x, Tensor) else Tensor._make(np.asarray(x)) for x in leaves] + captured
    with no_grad():
        result = cf(*leaves)
    outs, struct, _ = flatten(result)
    edges = [engine.edge_of(v) if v._rg and not isinstance(c, tuple) else None
             for v, c in zip(values, [None] * len(leaves) + list(cf.captures))]
    if not any(edges):
        return result
    node = GraphNode(cf, values, edges, len(outs))
    for k, o in enumerate(outs):
        if o.dtype.category == FLOAT:
            o._rg, o.grad_fn, o._output_nr = True, node, k
    return unflatten(struct, outs)
