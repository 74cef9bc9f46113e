"""The elementwise, reduction, property and convolution / pooling suites of tests/ops rerun with every eager op on
the C backend's kernels (backends/c/eager.py, no size limit): the same checks against PyTorch and numpy, now
through C (conv's window copies and Fold on the move kernel, ReLU's where)."""

import pytest

from .test_conv import *  # noqa: F401,F403
from .test_elementwise import *  # noqa: F401,F403
from .test_properties import *  # noqa: F401,F403
from .test_reduce import *  # noqa: F401,F403

pytestmark = pytest.mark.usefixtures("eager_on_c")
