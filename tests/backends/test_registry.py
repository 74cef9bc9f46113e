"""The backend boundary (backends/base.py): every primitive declares its properties, every backend table names
only real primitives, a fusable primitive has its C template, and backends are chosen through one registry."""

import pytest

import tapegrad as tg
from tapegrad.backends import base, plan
from tapegrad.backends.c import scalar
from tapegrad.backends.numpy import IMPLS
from tapegrad.errors import BackendError
from tapegrad.primitives import PRIMITIVES
from tapegrad.primitives.base import ELEMENTWISE, FAMILIES, MOVEMENT, REDUCTION


def test_every_primitive_declares_a_known_family_and_a_cost():
    for name, prim in PRIMITIVES.items():
        assert prim.family in FAMILIES, (name, prim.family)
        assert isinstance(prim.cost, int) and prim.cost >= 1, name


def test_every_primitive_has_an_eager_implementation_on_the_reference():
    missing = [name for name in PRIMITIVES if name not in IMPLS]
    assert not missing, f"no numpy implementation (backends/numpy.py IMPLS) for {missing}"
    assert all(PRIMITIVES[name].impl is not None for name in PRIMITIVES)


def test_every_fusable_elementwise_primitive_has_a_c_template():
    lacking = [n for n, p in PRIMITIVES.items() if p.fusable and p.family in ELEMENTWISE and not scalar.has_template(n)]
    assert not lacking, f"fusable but no C template in backends/c/scalar.py: {lacking}"


def test_only_reshape_expand_sum_amax_fuse_outside_elementwise():
    """fuse.py treats fusable movement as a view and fusable reductions as sum/amax loops: nothing else may
    declare itself fusable in those families without fuse.py and render.py learning it."""
    fusable = {n for n, p in PRIMITIVES.items() if p.fusable and p.family not in ELEMENTWISE}
    assert fusable == {"reshape", "expand", "sum", "amax"}, fusable
    assert {PRIMITIVES[n].family for n in ("reshape", "expand")} == {MOVEMENT}
    assert {PRIMITIVES[n].family for n in ("sum", "amax")} == {REDUCTION}


@pytest.mark.parametrize("table, where", [
    (IMPLS, "backends/numpy.py IMPLS"), (scalar.MATH, "backends/c/scalar.py MATH"),
    (scalar.PLAIN, "backends/c/scalar.py PLAIN"), (plan.UFUNCS, "backends/plan.py UFUNCS"),
    (plan.FRESH_RESULTS, "backends/plan.py FRESH_RESULTS"),
])
def test_backend_tables_name_only_known_primitives(table, where):
    unknown = sorted(set(table) - set(PRIMITIVES))
    assert not unknown, f"{where} names primitives that do not exist: {unknown}"


def test_registry_lists_backends_and_resolves_names(monkeypatch):
    assert base.names()[:2] == ["numpy", "c"]
    assert base.get("numpy").unavailable() is None
    monkeypatch.delenv(base.ENV, raising=False)
    assert base.resolve() == base.DEFAULT and base.resolve("NumPy") == "numpy"
    with pytest.raises(BackendError, match=r"unknown backend 'gpu' \(from backend=\); choose one of numpy, c"):
        base.resolve("gpu")


class _Absent(base.Backend):
    name = "absent"

    def unavailable(self):
        return "it needs the absent library; pip install absent"

    def compile(self, graph):
        raise AssertionError("an unavailable backend is never asked to compile")


def test_an_unavailable_backend_without_fallback_is_refused_with_the_reason(monkeypatch):
    import types
    import sys

    module = types.ModuleType("tapegrad_test_absent_backend")
    module.BACKEND = _Absent()
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(base.MODULES, "absent", module.__name__)
    with pytest.raises(BackendError, match="cannot run here: it needs the absent library; pip install absent"):
        tg.jit(lambda x: x + 1, backend="absent")
    with pytest.raises(BackendError, match=r"absent \(unavailable here: it needs the absent library"):
        base.resolve("nope")
