"""Shared by the passes: renaming Vars through a substitution map."""

from __future__ import annotations

from ..trace.ir import Eqn, Graph


def resolve(subst: dict, v):
    while v.id in subst:
        v = subst[v.id]
    return v


def renamed(e: Eqn, subst: dict) -> Eqn:
    if not subst:
        return e
    return Eqn(e.prim, [resolve(subst, v) for v in e.inputs], e.outputs, e.params, e.where, e.scope, e.phase)


def rebuild(g: Graph, eqns: list, subst: dict) -> Graph:
    return Graph(list(g.inputs), eqns, [resolve(subst, v) for v in g.outputs], g.name)
