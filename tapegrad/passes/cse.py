"""Common-subexpression elimination: one equation for each (primitive, inputs, params); equal constants merged."""

from __future__ import annotations

from ..trace.ir import Graph
from ._rewrite import rebuild, renamed

_SMALL_CONST = 4096  # constants up to this many elements are compared by value


def _params_key(params):
    try:
        key = tuple(sorted((k, repr(v)) for k, v in params.items()))
        return key
    except Exception:  # noqa: BLE001  (an unprintable param: never merged)
        return None


def _const_key(v):
    c = v.const
    if c.size > _SMALL_CONST:
        return ("const-id", v.id)
    return ("const", c.dtype.str, c.shape, c.tobytes())


def cse(g: Graph) -> Graph:
    subst, seen, consts, eqns = {}, {}, {}, []
    for e in g.eqns:
        for v in e.inputs:
            if v.const is not None and v.id not in subst:
                first = consts.setdefault(_const_key(v), v)
                if first is not v:
                    subst[v.id] = first
        e = renamed(e, subst)
        if getattr(e.prim, "multiple_results", False):  # structured control flow: kept as is
            eqns.append(e)
            continue
        pk = _params_key(e.params)
        key = None if pk is None else (e.prim.name, tuple(v.id for v in e.inputs), pk)
        if key is not None and key in seen:
            for old, new in zip(e.outputs, seen[key].outputs):
                subst[old.id] = new
            continue
        if key is not None:
            seen[key] = e
        eqns.append(e)
    return rebuild(g, eqns, subst)
