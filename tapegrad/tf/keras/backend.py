"""keras.backend: the few helpers scripts call."""

from __future__ import annotations

from ...dtype import as_dtype

_FLOATX = ["float32"]


def floatx() -> str:
    return _FLOATX[0]


def set_floatx(value) -> None:
    _FLOATX[0] = as_dtype(value).name


def epsilon() -> float:
    return 1e-7


def clear_session() -> None:
    """Accepted: tapegrad keeps no global graph."""
