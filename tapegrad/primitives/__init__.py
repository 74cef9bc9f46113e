"""The op set: importing this package fills PRIMITIVES with every primitive."""

from . import collective, decompositions, elementwise, indexing, linalg, movement, random, reduce, special  # noqa: F401  (registration)
from .base import DYNAMIC, INTERPRETERS, PRIMITIVES, AVal, Interpreter, Primitive, bind, register, top_interpreter

__all__ = [
    "PRIMITIVES", "INTERPRETERS", "DYNAMIC", "AVal", "Interpreter", "Primitive", "bind", "register", "top_interpreter",
]
