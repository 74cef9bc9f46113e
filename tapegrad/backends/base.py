"""The backend boundary: what a backend provides, and the one registry the rest of the package talks to.

A backend is a module under tapegrad/backends/ that defines `BACKEND`, an instance of a `Backend` subclass. It
has a name, says whether it can run here (and if not, why, in words a user can act on), supplies eager
implementations per primitive (any primitive it leaves out runs on the numpy reference), and compiles a traced
Graph into a plan: a callable from a list of input arrays to a list of output arrays. Backends are found by
module, through MODULES: adding one (as cuda was) is a module and a line here, never an if/else elsewhere.

trace/function.py (tg.function / tg.jit), trace/control.py (sub-graphs) and the eager engine reach backends only
through this file: `resolve(name)` (the argument, else $TAPEGRAD_BACKEND, else DEFAULT), `get(name)` and
`compile_graph(graph, name)`.
"""

from __future__ import annotations

import abc
import importlib
import os

from ..errors import BackendError

# name -> module defining BACKEND. The numpy backend is the reference: always available, complete.
MODULES = {"numpy": "tapegrad.backends.numpy", "c": "tapegrad.backends.c", "cuda": "tapegrad.backends.cuda"}
REFERENCE = "numpy"
# C compiles graphs by default: it was faster than the numpy plan on five of the six benchmark workloads and level
# on the sixth, one BLAS matmul (docs/performance.md); a new graph costs one compile (about 0.3-1.5 s, then cached).
DEFAULT = "c"
ENV = "TAPEGRAD_BACKEND"
# Eager ops run on $TAPEGRAD_EAGER_BACKEND, else $TAPEGRAD_BACKEND (so TAPEGRAD_BACKEND=numpy turns C off
# everywhere), else DEFAULT. The C backend's eager impls run large elementwise ops and reductions as compiled
# kernels and everything else on numpy; without a compiler they warn once and stay on numpy (c/eager.py).
EAGER_ENV = "TAPEGRAD_EAGER_BACKEND"


class Backend(abc.ABC):
    """The protocol of a backend. Subclasses set `name` and implement `compile`; the rest has defaults."""

    name: str = ""
    # A backend that is not available here may fall back to another with one warning instead of failing (the C
    # backend without a working compiler runs on the numpy plan): the name of that backend, or None. Its
    # compile() does the fallback; resolve() refuses an unavailable backend without one.
    falls_back_to: str | None = None

    def unavailable(self) -> str | None:
        """None when this backend can run here; otherwise why not, and what it needs."""
        return None

    def eager_impls(self) -> dict:
        """primitive name -> function on arrays, for the primitives this backend runs eagerly itself."""
        return {}

    def eager_vjps(self) -> dict:
        """primitive name -> backward kernel on arrays (the vjp of that primitive; backends/numpy.py VJPS says what a
        kernel receives), for eager backward passes that build no graph."""
        return {}

    @abc.abstractmethod
    def compile(self, graph):
        """A plan for graph: plan(list of input arrays) -> list of output arrays."""

    def __repr__(self) -> str:
        return f"<backend {self.name}>"


def names() -> list:
    return list(MODULES)


def get(name: str) -> Backend:
    """The Backend registered under name (its module is imported on first use)."""
    return importlib.import_module(MODULES[name]).BACKEND


def _choices() -> str:
    """Every registered backend with its state: 'numpy, c (unavailable: no C compiler ...)'."""
    out = []
    for name in MODULES:
        why = get(name).unavailable()
        out.append(name if why is None else f"{name} (unavailable here: {why})")
    return ", ".join(out)


def resolve(backend: str | None = None) -> str:
    """The name of the backend to use: the argument, else $TAPEGRAD_BACKEND, else DEFAULT. An unknown name is a
    BackendError listing the registered backends and their state; so is one that is unavailable here and has no
    fallback."""
    name = backend if backend is not None else (os.environ.get(ENV) or DEFAULT)
    name = name.lower()
    where = "backend=" if backend is not None else ENV
    if name not in MODULES:
        raise BackendError(f"unknown backend {name!r} (from {where}); choose one of {_choices()}")
    chosen = get(name)
    why = chosen.unavailable()
    if why is not None and chosen.falls_back_to is None:
        raise BackendError(f"backend {name!r} (from {where}) cannot run here: {why}. Available: {_choices()}")
    return name


def compile_graph(graph, backend: str | None = None):
    """A callable plan for graph on the chosen backend (which falls back itself, with one warning, when it says
    it may)."""
    return get(resolve(backend)).compile(graph)


installed_eager = REFERENCE  # the backend whose eager impls are on the primitive table


def eager_backend() -> str:
    """The backend eager ops run on: $TAPEGRAD_EAGER_BACKEND, else $TAPEGRAD_BACKEND, else DEFAULT. An unknown
    name is a BackendError listing the backends."""
    name = (os.environ.get(EAGER_ENV) or os.environ.get(ENV) or DEFAULT).lower()
    if name not in MODULES:
        where = EAGER_ENV if os.environ.get(EAGER_ENV) else ENV
        raise BackendError(f"unknown backend {name!r} (from {where}) for eager ops; choose one of {', '.join(MODULES)}")
    return name


def install_eager(name: str = REFERENCE) -> None:
    """Attach a backend's eager implementations to the primitive table, the numpy reference's where it has none
    (eager ops call prim.impl). The package installs `eager_backend()` on import; tests switch with this."""
    from ..primitives import PRIMITIVES

    global installed_eager
    impls = {**get(REFERENCE).eager_impls(), **get(name).eager_impls()}
    vjps = {**get(REFERENCE).eager_vjps(), **get(name).eager_vjps()}
    installed_eager = name
    for prim_name, prim in PRIMITIVES.items():
        if prim_name in impls:
            prim.impl = impls[prim_name]
        prim.vjp_impl = vjps.get(prim_name)
    from . import numpy as reference

    reference.bind_installed()  # the reference's backward kernels compute with what is installed now
