"""The C backend: fused elementwise(+reduction) kernels compiled by the system C compiler, run by a plan.

`compile_graph(graph, backend)` is what trace/function.py calls: backend "c" builds a CPlan (falling back,
with one warning, to the numpy plan when there is no compiler), "numpy" the numpy plan. `resolve(backend)`
reads TAPEGRAD_BACKEND when the argument is None (default: numpy). See docs/compiler.md.
"""

from __future__ import annotations

import os

from ...errors import BackendError

BACKENDS = ("numpy", "c")


def resolve(backend: str | None) -> str:
    """The backend name to use: the argument, else $TAPEGRAD_BACKEND, else "numpy"."""
    name = backend if backend is not None else (os.environ.get("TAPEGRAD_BACKEND") or "numpy")
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


__all__ = ["compile_graph", "resolve", "BACKENDS"]
