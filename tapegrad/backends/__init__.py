"""Backends: numpy (the reference, always present), c (the CPU compiler); backends/base.py is their registry.
Importing this package installs the eager implementations of `base.eager_backend()` (C by default) on the
primitive table."""

from . import base

base.install_eager(base.eager_backend())
