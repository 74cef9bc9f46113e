"""Constant folding: an equation whose inputs are all constants is computed now and becomes a constant."""

from __future__ import annotations

import numpy as np

from ..primitives.base import COLLECTIVE, AVal
from ..trace.ir import Graph, Var
from ._rewrite import rebuild, renamed

MAX_FOLDED = 1 << 20  # elements: larger results stay computed at run time (they would bloat the graph)


def fold(g: Graph) -> Graph:
    subst, eqns = {}, []
    for e in g.eqns:
        e = renamed(e, subst)
        out = e.outputs[0]
        foldable = (
            e.inputs
            and all(v.const is not None for v in e.inputs)
            and not getattr(e.prim, "multiple_results", False)
            and e.prim.impl is not None
            and e.prim.family != COLLECTIVE  # its value comes from the other ranks at run time
            and int(np.prod(out.shape, dtype=np.int64)) <= MAX_FOLDED
        )
        if foldable:
            with np.errstate(all="ignore"):
                value = np.asarray(e.prim.impl(*[v.const for v in e.inputs], **e.params))
            if value.shape == tuple(out.shape) and value.dtype == out.dtype.np:
                subst[out.id] = Var(AVal(out.shape, out.dtype), const=value)
                continue
        eqns.append(e)
    return rebuild(g, eqns, subst)
