"""Conformance: the traced tests of the suite (tests/trace/) run again with every compiled function on the C
backend (TAPEGRAD_BACKEND=c), with the same assertions and tolerances as on numpy."""

import importlib.util
import pathlib

import pytest

from tapegrad.backends.c import compiler

HERE = pathlib.Path(__file__).resolve().parent
TRACE = HERE.parent / "trace"
HAVE_CC = compiler.shutil.which("cc") is not None


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_conformance_{name}", TRACE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# Tests of numpy-plan internals or of bit-exact equality with eager numpy (the C kernels sum in double, in
# another order): their C counterparts, with tolerances, are in test_c.py.
NOT_HERE = {"test_plan_executor_reuses_buffers", "test_training_step_compiles_into_one_graph_and_matches_eager"}

for _name in ("test_function", "test_control"):
    for _k, _v in vars(_load(_name)).items():
        if _k.startswith("test_") and callable(_v) and _k not in NOT_HERE:
            globals()[f"{_k}__{_name[5:]}"] = _v


@pytest.fixture(autouse=True)
def _on_c(monkeypatch, c_cache):
    if not HAVE_CC:
        pytest.skip("no C compiler on this machine: the C backend falls back to numpy (tested in test_c.py)")
    monkeypatch.setenv("TAPEGRAD_BACKEND", "c")
    monkeypatch.setenv("TAPEGRAD_CACHE_DIR", str(c_cache))
