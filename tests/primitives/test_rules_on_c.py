"""The primitive rule checks (test_rules.py: shape rules, vjp / jvp against finite differences in float64, first
and second order) rerun with every eager op on the C backend's kernels (backends/c/eager.py, no size limit)."""

import pytest

from .test_rules import *  # noqa: F401,F403

pytestmark = pytest.mark.usefixtures("eager_on_c")
