"""The C backend: fused elementwise and reduction kernels compiled by the system C compiler, run by a plan.

`compile_graph(graph, backend)` is what trace/function.py calls: backend "c" builds a CPlan (falling back,
with one warning, to the numpy plan when there is no compiler), "numpy" the numpy plan. `resolve(backend)`
reads TAPEGRAD_BACKEND when the argument is None (default: c). See docs/compiler.md.
"""

from __future__ import annotations

import os

from ...errors import BackendError

BACKENDS = ("numpy", "c")
DEFAULT = "c"


def resolve(backend: str | None) -> str:
    """The backend name to use: the argument, else $TAPEGRAD_BACKEND, else "c" (the numpy plan when there is no
    compiler). C is the default because it was faster on four of six benchmarks and tied on the two
    that are mostly BLAS (docs/performance.md); a new graph costs one compile (about 0.3-1.5 s, then cached on disk)."""
    name = backend if backend is not None else (os.environ.get("TAPEGRAD_BACKEND") or DEFAULT)
    name = name.lower()
    if name not in BACKENDS:
        where = "backend=" if backend is not None else "TAPEGRAD_BACKEND"
        raise BackendError(f"unknown backend {name!r} (from {where}); choose one of {', '.join(BACKENDS)}")
    return name


def compile_graph(graph, backend: str | None = None):
    """A callable plan for graph on the chosen backend: plan(list of arrays) -> list of arrays."""
    from ..plan import Plan

    if resolve(backend) == "c":
        from . import compiler
        from .plan import CPlan

        cc = compiler.compiler()
        if cc is not None:
            return CPlan(graph, cc)
    return Plan(graph)


__all__ = ["BACKENDS", "DEFAULT", "compile_graph", "resolve"]
