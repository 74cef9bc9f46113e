"""keras.activations: activation functions by name (`activation="relu"` in a layer)."""

from __future__ import annotations

from .. import nn as _nn
from ..names import convert_to_tensor as _t


def linear(x):
    return x


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    x = _t(x)
    if alpha == 0.0 and max_value is None and threshold == 0.0:
        return _nn.relu(x)
    from ... import ops

    out = ops.where(x >= threshold, x, alpha * (x - threshold))
    return out if max_value is None else ops.clamp(out, max=max_value)


def sigmoid(x):
    return _nn.sigmoid(x)


def tanh(x):
    return _nn.tanh(x)


def softmax(x, axis=-1):
    return _nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return _nn.log_softmax(x, axis=axis)


def elu(x, alpha=1.0):
    from ... import ops

    x = _t(x)
    return _nn.elu(x) if alpha == 1.0 else ops.where(x > 0, x, alpha * ops.expm1(x))


def selu(x):
    return _nn.selu(x)


def gelu(x, approximate=False):
    return _nn.gelu(x, approximate=approximate)


def softplus(x):
    return _nn.softplus(x)


def softsign(x):
    return _nn.softsign(x)


def swish(x):
    return _nn.silu(x)


silu = swish


def leaky_relu(x, negative_slope=0.2):
    return _nn.leaky_relu(x, negative_slope)


def get(identifier):
    """A callable for an activation name, the callable itself, or linear for None."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    fn = globals().get(str(identifier))
    if fn is None or str(identifier).startswith("_") or not callable(fn):
        raise ValueError(f"Unknown activation function: {identifier!r}")
    return fn


def serialize(fn) -> str:
    return fn.__name__
