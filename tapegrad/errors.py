"""Error types and the helper that names the user's line. Leaf module; used everywhere."""

from __future__ import annotations

import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class TapegradError(RuntimeError):
    """A framework state that forbids what was asked (as opposed to a bad value or type)."""


class GradError(TapegradError):
    """The autograd engine cannot compute what was asked (freed graph, in-place change, ...)."""


class TraceError(TapegradError):
    """Tracing a function into a graph failed."""


class BackendError(TapegradError):
    """A backend cannot run a primitive or a graph."""


class AnomalyError(TapegradError, FloatingPointError):
    """Anomaly mode found a NaN (or, with debug_infs, an Inf) where an op or a backward rule made it.

    A RuntimeError as PyTorch's anomaly mode raises, and a FloatingPointError as JAX's debug_nans raises, so
    code written for either idiom catches it."""


_INTERNAL: dict = {}  # co_filename -> whether it belongs to the tapegrad package (cached: this runs often)


def user_frame() -> str:
    """'file.py:12 in fn' for the innermost frame outside the tapegrad package (the user's line)."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        internal = _INTERNAL.get(name)
        if internal is None:
            internal = _INTERNAL[name] = os.path.abspath(name).startswith(_PACKAGE_DIR)
        if not internal:
            return f"{name}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return "<unknown>"
