"""The op set: importing this package fills PRIMITIVES with every primitive."""

from . import elementwise, indexing, linalg, movement, reduce  # noqa: F401  (registration)
from .base import INTERPRETERS, PRIMITIVES, AVal, Primitive, bind, register

__all__ = ["PRIMITIVES", "INTERPRETERS", "AVal", "Primitive", "bind", "register"]
