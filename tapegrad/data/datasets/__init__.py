"""Data sets: the embedded 8x8 digits (no network needed) and a reader for MNIST-style IDX files."""

from .digits import load_digits  # noqa: F401
from .mnist import IDXError, load_mnist, read_idx  # noqa: F401
