"""Specialising a graph traced with symbolic sizes (trace/dims.py) to concrete ones.

Every Dim in the avals and equation params is replaced by its size, every shape rule runs again on the
concrete avals (so a decision taken for an unknown size, such as a broadcast, is checked for this size),
and the placeholders of sizes used as values become constants. Depends on trace/ir.py and trace/dims.py.
"""

from __future__ import annotations

import numpy as np

from ..errors import TraceError
from ..primitives.base import AVal
from .dims import substitute
from .ir import Eqn, Graph, Var, _expected, type_str


def specialise_graph(graph: Graph, env: dict, sizes: dict) -> Graph:
    """graph with the symbols of env (name -> int) substituted; sizes maps Dim -> placeholder Var."""
    consts = {v.id: np.array(substitute(d, env), np.int64) for d, v in sizes.items()}
    return _specialise(graph, env, consts)


def _specialise(graph, env, consts):
    new = {}

    def read(v):
        if v.const is not None:
            return v
        if v.id in consts:
            return Var(AVal((), v.dtype), const=consts[v.id], hint=v.hint)
        return new[v.id]

    def fresh(v):
        new[v.id] = Var(AVal(substitute(v.shape, env), v.dtype), hint=v.hint)
        return new[v.id]

    inputs = [fresh(v) for v in graph.inputs]
    eqns = []
    for e in graph.eqns:
        params = substitute(e.params, env, lambda g: _specialise(g, env, consts))
        eqn = Eqn(e.prim, [read(v) for v in e.inputs], [], params, e.where, e.scope, e.phase)
        try:
            got = _expected(eqn)
        except (ValueError, TypeError) as err:
            raise _mismatch(e, env, str(err)) from None
        for v, a in zip(e.outputs, got):
            want = substitute(v.shape, env)
            if tuple(a.shape) != tuple(want) or a.dtype is not v.dtype:
                raise _mismatch(e, env, f"it gives {type_str(a)} where the generic trace had {type_str(v.aval)}")
            eqn.outputs.append(fresh(v))
        eqns.append(eqn)
    return Graph(inputs, eqns, [read(v) for v in graph.outputs], graph.name)


def _mismatch(e, env, why) -> TraceError:
    sizes = ", ".join(f"{k}={n}" for k, n in sorted(env.items()))
    return TraceError(
        f"the graph traced once for every size of the None dimensions does not hold for {sizes}: {e.prim.name} at "
        f"{e.where}: {why}. The trace assumed an unknown size is none of the constants it was compared with (a "
        "size-1 dimension that broadcasts, for instance); give that dimension a concrete size in the TensorSpec "
        "or make the code independent of it."
    )
