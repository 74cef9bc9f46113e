"""Graph -> Graph passes: dead-code elimination, common subexpressions, constant folding, algebraic
simplification, matmul layout. Each pass is a function in its own module; `optimize` runs them in order and, in debug
mode (TAPEGRAD_DEBUG=1 or passes.DEBUG = True), verifies the graph after each one.
"""

from __future__ import annotations

import os

from ..trace.ir import Graph, verify
from .cse import cse
from .dce import dce
from .fold import fold
from .layout import transpose_matmul
from .simplify import simplify

DEBUG = os.environ.get("TAPEGRAD_DEBUG", "") not in ("", "0")
DEFAULT = (fold, simplify, cse, transpose_matmul, dce)


def optimize(graph: Graph, passes=DEFAULT, debug: bool | None = None) -> Graph:
    """Run `passes` over graph in order (verifying after each in debug mode)."""
    check = DEBUG if debug is None else debug
    if check:
        verify(graph)
    for p in passes:
        graph = p(graph)
        if check:
            verify(graph)
    return graph


__all__ = ["DEBUG", "DEFAULT", "cse", "dce", "fold", "optimize", "simplify", "transpose_matmul"]
