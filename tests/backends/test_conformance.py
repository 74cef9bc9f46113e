"""Conformance: the traced tests of the suite (tests/trace/) run on the default backend (C when a compiler
exists) and again here on the numpy plan (TAPEGRAD_BACKEND=numpy), with the same assertions and tolerances."""

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


# Tests that pin backend="numpy" themselves (numpy-plan internals, bit-exact equality with eager numpy): their C
# counterparts, with tolerances, are in test_c.py.
NOT_HERE = {"test_plan_executor_reuses_buffers", "test_training_step_compiles_into_one_graph_and_matches_eager"}

for _name in ("test_function", "test_control"):
    for _k, _v in vars(_load(_name)).items():
        if _k.startswith("test_") and callable(_v) and _k not in NOT_HERE:
            globals()[f"{_k}__{_name[5:]}"] = _v


@pytest.fixture(autouse=True)
def _on_numpy(monkeypatch):
    if not HAVE_CC:
        pytest.skip("no C compiler on this machine: tests/trace already ran on the numpy plan (the fallback)")
    monkeypatch.setenv("TAPEGRAD_BACKEND", "numpy")
