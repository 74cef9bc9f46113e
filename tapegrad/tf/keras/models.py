"""keras.models: the model classes."""

from .engine import Model, Sequential  # noqa: F401
