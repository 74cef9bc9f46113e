"""The primitive rule checks of test_rules.py (the shape rule against the result, vjp and second order against
finite differences in float64, the subgradient conventions) rerun with every eager op on the C backend's kernels
(backends/c/eager.py, no size limit), for the primitives that have a C eager impl; the others run numpy as
before, so rerunning them checks nothing new."""

import pytest

from tapegrad.backends import base
from tapegrad.backends.c import eager

from .test_rules import (  # noqa: F401
    test_second_order_matches_finite_differences,
    test_shape_rule,
    test_subgradient_conventions,
    test_vjp_matches_finite_differences,
)

ON_C = set(eager.impls(base.get("numpy").eager_impls()))


@pytest.fixture(autouse=True)
def _on_c_only(request, eager_on_c):
    params = request.node.callspec.params
    name = params["prim"].name if "prim" in params else params.get("name")
    if name not in ON_C:
        pytest.skip(f"{name} has no C eager impl")
