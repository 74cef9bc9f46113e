"""tg.nn: neural-network building blocks: Parameter, the stateless functions (tg.nn.functional); Module and
the layers come with issue 7."""

from . import functional  # noqa: F401
from .parameter import Parameter  # noqa: F401
