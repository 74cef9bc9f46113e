"""Dead-code elimination: drop equations whose outputs no output depends on (primitives have no side effects)."""

from __future__ import annotations

from ..trace.ir import Graph


def dce(g: Graph) -> Graph:
    """Keep only the equations that some graph output needs, in their original order.

    >>> # an unused `exp` disappears; see tests/passes/test_passes.py
    """
    needed = {v.id for v in g.outputs}
    kept = []
    for e in reversed(g.eqns):
        if any(v.id in needed for v in e.outputs):
            kept.append(e)
            needed.update(v.id for v in e.inputs)
    kept.reverse()
    return Graph(list(g.inputs), kept, list(g.outputs), g.name)
