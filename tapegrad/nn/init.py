"""tg.nn.init: fill a tensor in place with the standard initial values (PyTorch's names and formulas).

Draws use tapegrad's generator, so tg.manual_seed makes them reproducible. Every function runs under
no_grad and returns its argument. Used by the layers' reset_parameters().
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import no_grad
from ..ops.creation import randn_like
from ..ops.elementwise import where
from ..tensor import Tensor

_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The factor that keeps activations' variance stable through the nonlinearity (PyTorch's table).

    >>> calculate_gain("relu")
    1.4142135623730951
    """
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of linear, conv*d, sigmoid, tanh, "
        "relu, leaky_relu, selu"
    )


def _calculate_fan_in_and_fan_out(tensor: Tensor):
    """fan_in = shape[1] * receptive field, fan_out = shape[0] * receptive field (weights are (out, in, *k))."""
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape "
            f"{tuple(tensor.shape)}); use uniform_ / normal_ for biases"
        )
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _check(name, tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init.{name}: expected a Tensor, got {type(tensor).__name__}")
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with draws from U(a, b)."""
    with no_grad():
        return _check("uniform_", tensor).uniform_(a, b)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with draws from N(mean, std^2)."""
    with no_grad():
        return _check("normal_", tensor).normal_(mean, std)


def trunc_normal_(tensor: Tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None) -> Tensor:
    """N(mean, std^2) truncated to [a, b] (by redrawing values outside; fine for the usual |a|, |b| >= std)."""
    with no_grad():
        _check("trunc_normal_", tensor).normal_(mean, std)
        for _ in range(100):
            bad = (tensor < a) | (tensor > b)
            if not bad.any():
                break
            fresh = randn_like(tensor) * std + mean
            tensor.copy_(where(bad, fresh, tensor))
        return tensor.clamp_(a, b)


def constant_(tensor: Tensor, val: float) -> Tensor:
    with no_grad():
        return _check("constant_", tensor).fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    with no_grad():
        return _check("zeros_", tensor).zero_()


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (2-d tensors only)."""
    if tensor.ndim != 2:
        raise ValueError(f"init.eye_: only 2-d tensors are supported, got shape {tuple(tensor.shape)}")
    with no_grad():
        return tensor.copy_(Tensor._make(np.eye(*tensor.shape, dtype=tensor._data.dtype)))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check("xavier_uniform_", tensor))
    bound = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check("xavier_normal_", tensor))
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None) -> Tensor:
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al., 2015); `a` is leaky_relu's negative slope."""
    if 0 in _check("kaiming_uniform_", tensor).shape:
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan)."""
    if 0 in _check("kaiming_normal_", tensor).shape:
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode)))


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian draw, scaled by gain."""
    if tensor.ndim < 2:
        raise ValueError(f"init.orthogonal_: needs at least 2 dimensions, got shape {tuple(tensor.shape)}")
    rows, cols = tensor.shape[0], tensor.numel() // tensor.shape[0]
    flat = Tensor._make(np.empty((rows, cols), np.float64)).normal_()._data
    q, r = np.linalg.qr(flat.T if rows < cols else flat)
    q = q * np.sign(np.diag(r))  # makes the decomposition unique, hence uniformly distributed
    q = q.T if rows < cols else q
    with no_grad():
        return tensor.copy_(Tensor._make((gain * q).reshape(tensor.shape).astype(tensor._data.dtype)))


# PyTorch's deprecated spellings without the trailing underscore are not provided: they were removed upstream.
