"""Layout: transpose(a @ b) -> b.T @ a.T, so a weight gradient comes out of BLAS already in the layout its
reader wants.

A Linear layer stores W as (out, in) and computes x @ W.T, so reverse mode makes W's gradient as
permute(x.T @ g). That permute is a strided view; every reader of it (the optimizer's update kernel, a
graph output) then pays a full copy. BLAS reads transposed operands for free, so asking it for g.T @ x
instead gives the same numbers in a C-contiguous buffer. The rewrite applies only when the transposed
product is the matmul's one reader (otherwise both layouts would be computed), so it runs after cse; an
operand that is itself a transpose is read through (x.T.T -> x).
"""

from __future__ import annotations

from ..primitives.base import PRIMITIVES, AVal
from ..trace.ir import Eqn, Graph, Var


def _swaps_last_two(e: Eqn) -> bool:
    perm, n = tuple(e.params.get("perm", ())), len(e.outputs[0].shape)
    return n >= 2 and perm == (*range(n - 2), n - 1, n - 2)


def _readers(g: Graph) -> dict:
    count: dict = {}
    for e in g.eqns:
        for v in e.inputs:
            count[v.id] = count.get(v.id, 0) + 1
    for v in g.outputs:
        count[v.id] = count.get(v.id, 0) + 1
    return count


def _transposed(v: Var, like: Eqn, made_by: dict) -> tuple:
    """([the Eqn making v with its last two axes swapped, if one is needed], that Var). v.T.T is v's source."""
    src = made_by.get(v.id)
    if src is not None and src.prim.name == "permute" and _swaps_last_two(src):
        return [], src.inputs[0]
    n = len(v.shape)
    perm = (*range(n - 2), n - 1, n - 2)
    out = Var(AVal((*v.shape[:-2], v.shape[-1], v.shape[-2]), v.dtype))
    return [Eqn(PRIMITIVES["permute"], [v], [out], {"perm": perm}, like.where, like.scope, like.phase)], out


def transpose_matmul(g: Graph) -> Graph:
    made_by = {e.outputs[0].id: e for e in g.eqns if len(e.outputs) == 1}
    readers = _readers(g)
    eqns = []
    for e in g.eqns:
        mm = made_by.get(e.inputs[0].id) if e.prim.name == "permute" and e.inputs else None
        if (mm is None or mm.prim.name != "matmul" or not _swaps_last_two(e) or readers[mm.outputs[0].id] != 1
                or any(len(v.shape) != len(e.outputs[0].shape) for v in mm.inputs)):
            eqns.append(e)
            continue
        a, b = mm.inputs
        tb, bt = _transposed(b, e, made_by)
        ta, at = _transposed(a, e, made_by)
        eqns += [*tb, *ta, Eqn(mm.prim, [bt, at], e.outputs, dict(mm.params), mm.where, mm.scope, mm.phase)]
    return Graph(list(g.inputs), eqns, list(g.outputs), g.name)  # the old matmul is dead: dce drops it
