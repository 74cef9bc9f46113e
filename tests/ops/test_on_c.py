"""The elementwise, reduction and property suites of tests/ops rerun with every eager op on the C backend's
kernels (backends/c/eager.py, no size limit): the same checks against PyTorch and numpy, now through C."""

import pytest

from .test_elementwise import *  # noqa: F401,F403
from .test_properties import *  # noqa: F401,F403
from .test_reduce import *  # noqa: F401,F403

pytestmark = pytest.mark.usefixtures("eager_on_c")
