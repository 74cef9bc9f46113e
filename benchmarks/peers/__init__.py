"""The frameworks of the compiler benchmarks, one module each, imported only when a run needs them (so that
`tapegrad bench --help` stays fast and a missing or broken peer costs one report line, not the run).

Each module has NAME, PIP (the command that installs it), VARIANTS ({runner name: what its functions take as
`variant`}), version(), to_numpy(out), and w1 ... w7(data, variant) -> run: a callable that does one timed
step on the workload's shared numpy `data` and returns its outputs once they are computed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType

BENCH_EXTRA = 'pip install "tapegrad[bench]" (from a checkout: pip install -e ".[bench]")'

# framework -> (module here, the framework's own top-level package, the pip command that adds it)
FRAMEWORKS = {
    "tapegrad": ("benchmarks.peers.tapegrad_", "tapegrad", "pip install -e ."),
    "torch": ("benchmarks.peers.torch_", "torch", 'pip install "torch==2.13.0"'),
    "jax": ("benchmarks.peers.jax_", "jax", 'pip install "jax[cpu]"'),
    "tensorflow": ("benchmarks.peers.tensorflow_", "tensorflow", "pip install tensorflow-cpu"),
    "tinygrad": ("benchmarks.peers.tinygrad_", "tinygrad", "pip install tinygrad"),
}
PEERS = [name for name in FRAMEWORKS if name != "tapegrad"]


def select(text: str) -> list:
    """The peers named in a comma-separated list ('none' for none); ValueError names an unknown one."""
    names = [] if text.strip().lower() == "none" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in PEERS]
    if unknown:
        raise ValueError(f"unknown peer {', '.join(unknown)}; choose from {', '.join(PEERS)} (or 'none')")
    return names


@dataclass
class Framework:
    """One framework's state for this run: `module` when it imported, else `status` and `message` say why not."""

    name: str
    status: str  # "ok", "missing" (not installed) or "failed" (installed, but importing it raised)
    message: str = ""
    module: ModuleType | None = None
    version: str = ""
    # as a child process described it (benchmarks/isolated.py), where the framework is not imported here
    runners: list = field(default_factory=list)
    known_failures: dict = field(default_factory=dict)
    blas: list = field(default_factory=list)


def from_description(d: dict) -> Framework:
    return Framework(d["name"], d["status"], d.get("message", ""), version=d.get("version", ""),
                     runners=d.get("runners", []), known_failures=d.get("known_failures", {}), blas=d.get("blas", []))


def load(name: str) -> Framework:
    """Imports the framework's benchmark module; a missing package or a failing import becomes a status."""
    module_name, package, pip = FRAMEWORKS[name]
    try:
        module = importlib.import_module(module_name)
        return Framework(name, "ok", module=module, version=module.version())
    except ModuleNotFoundError as e:
        if e.name is not None and e.name.split(".")[0] == package:
            return Framework(name, "missing", f"not installed; add it with {pip}, or every peer with {BENCH_EXTRA}")
        return Framework(name, "failed", f"importing it failed: {type(e).__name__}: {e}")
    except Exception as e:  # noqa: BLE001  a broken install (ABI mismatch, missing shared library) is reported
        return Framework(name, "failed", f"importing it failed: {type(e).__name__}: {e}")
