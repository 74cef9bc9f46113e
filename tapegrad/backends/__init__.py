"""Backends: numpy (the reference, always present). Importing this package installs it."""

from . import numpy as numpy_backend  # noqa: F401
