"""tg.nn: neural-network building blocks. For now the stateless functions (tg.nn.functional); Module and the
layers come with a later issue."""

from . import functional  # noqa: F401
