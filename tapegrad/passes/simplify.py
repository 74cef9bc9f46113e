"""Algebraic simplification: x*1, 1*x, x+0, 0+x, x-0, x/1 -> x; identity reshape, permute, expand and cast -> x;
reshape(reshape(x)) -> reshape(x); permute(permute(x)) -> one permute (or x)."""

from __future__ import annotations

import numpy as np

from ..trace.ir import Eqn, Graph, Var
from ._rewrite import rebuild, renamed


def _is(v: Var, value) -> bool:
    c = v.const
    return c is not None and c.size > 0 and bool(np.all(c == value))


def _identity_of(e: Eqn):
    """The Var e's output equals, when e does nothing; else None."""
    name, ins, out = e.prim.name, e.inputs, e.outputs[0]

    def same(v):
        return v.shape == out.shape and v.dtype is out.dtype

    if name == "mul":
        for a, b in ((ins[0], ins[1]), (ins[1], ins[0])):
            if _is(b, 1) and same(a):
                return a
    elif name == "add":
        for a, b in ((ins[0], ins[1]), (ins[1], ins[0])):
            if _is(b, 0) and same(a):
                return a
    elif name in ("sub", "div"):
        if _is(ins[1], 0 if name == "sub" else 1) and same(ins[0]):
            return ins[0]
    elif name in ("reshape", "expand", "cast") and same(ins[0]):
        return ins[0]
    elif name == "permute" and tuple(e.params["perm"]) == tuple(range(len(out.shape))):
        return ins[0]
    return None


def simplify(g: Graph) -> Graph:
    subst, eqns, made_by = {}, [], {}
    for e in g.eqns:
        e = renamed(e, subst)
        if len(e.outputs) == 1 and not getattr(e.prim, "multiple_results", False):
            same = _identity_of(e)
            if same is not None:
                subst[e.outputs[0].id] = same
                continue
            e = _merge_chain(e, made_by)
            same = _identity_of(e)
            if same is not None:
                subst[e.outputs[0].id] = same
                continue
            made_by[e.outputs[0].id] = e
        eqns.append(e)
    return rebuild(g, eqns, subst)


def _merge_chain(e: Eqn, made_by: dict):
    """reshape of a reshape reads the first one's input; permute of a permute becomes one permute."""
    src = made_by.get(e.inputs[0].id) if e.inputs else None
    if src is None or src.prim is not e.prim:
        return e
    if e.prim.name == "reshape":
        return Eqn(e.prim, [src.inputs[0]], e.outputs, e.params, e.where, e.scope, e.phase)
    if e.prim.name == "permute":
        p1, p2 = src.params["perm"], e.params["perm"]
        perm = tuple(p1[i] for i in p2)
        return Eqn(e.prim, [src.inputs[0]], e.outputs, {**e.params, "perm": perm}, e.where, e.scope, e.phase)
    return e
