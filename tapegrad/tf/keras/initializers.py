"""keras.initializers: callables (shape, dtype) -> tensor, by class or by name ("glorot_uniform")."""

from __future__ import annotations

import math

import numpy as np

from ...dtype import as_dtype, float32
from ...tensor import Tensor
from .. import random as _random


def _fans(shape):
    """Keras' fans: a dense kernel is (in, out); a conv kernel (*spatial, in, out) counts the receptive field."""
    shape = tuple(shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    def __call__(self, shape, dtype=None, **kwargs):
        raise NotImplementedError

    def get_config(self):
        return {}


class Zeros(Initializer):
    def __call__(self, shape, dtype=None, **kwargs):
        return Tensor._make(np.zeros(tuple(shape), as_dtype(dtype or float32).np))


class Ones(Initializer):
    def __call__(self, shape, dtype=None, **kwargs):
        return Tensor._make(np.ones(tuple(shape), as_dtype(dtype or float32).np))


class Constant(Initializer):
    def __init__(self, value=0):
        self.value = value

    def __call__(self, shape, dtype=None, **kwargs):
        return Tensor._make(np.full(tuple(shape), self.value, as_dtype(dtype or float32).np))


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None, **kwargs):
        return _random.uniform(tuple(shape), self.minval, self.maxval, dtype=dtype or float32, seed=self.seed)


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None, **kwargs):
        return _random.normal(tuple(shape), self.mean, self.stddev, dtype=dtype or float32, seed=self.seed)


class TruncatedNormal(RandomNormal):
    def __call__(self, shape, dtype=None, **kwargs):
        return _random.truncated_normal(tuple(shape), self.mean, self.stddev, dtype=dtype or float32, seed=self.seed)


class VarianceScaling(Initializer):
    """Variance scale / fan: Glorot (fan_avg), He (fan_in, 2) and LeCun (fan_in, 1) are instances of it."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=None, **kwargs):
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        dtype = dtype or float32
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return _random.uniform(tuple(shape), -limit, limit, dtype=dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return _random.normal(tuple(shape), 0.0, math.sqrt(variance), dtype=dtype, seed=self.seed)
        # a normal truncated at 2 std has std 0.8796...; scale so the result has the variance asked for
        return _random.truncated_normal(tuple(shape), 0.0, math.sqrt(variance) / 0.87962566103423978, dtype=dtype,
                                        seed=self.seed)


def GlorotUniform(seed=None):  # noqa: N802  (Keras' class names, as factories)
    return VarianceScaling(1.0, "fan_avg", "uniform", seed)


def GlorotNormal(seed=None):  # noqa: N802
    return VarianceScaling(1.0, "fan_avg", "truncated_normal", seed)


def HeNormal(seed=None):  # noqa: N802
    return VarianceScaling(2.0, "fan_in", "truncated_normal", seed)


def HeUniform(seed=None):  # noqa: N802
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


def LecunNormal(seed=None):  # noqa: N802
    return VarianceScaling(1.0, "fan_in", "truncated_normal", seed)


class Orthogonal(Initializer):
    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None, **kwargs):
        rows = int(np.prod(shape[:-1]))
        cols = shape[-1]
        a = _random.normal((max(rows, cols), min(rows, cols)), dtype=float32, seed=self.seed).numpy().astype(np.float64)
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        q = q if rows >= cols else q.T
        return Tensor._make((self.gain * q[:rows, :cols]).reshape(shape).astype(as_dtype(dtype or float32).np))


_NAMES = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_uniform": RandomUniform,
    "random_normal": RandomNormal, "truncated_normal": TruncatedNormal, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_normal": HeNormal, "he_uniform": HeUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "variance_scaling": VarianceScaling,
}
zeros, ones = Zeros, Ones


def get(identifier):
    if identifier is None:
        return None
    if isinstance(identifier, str):
        key = identifier if identifier in _NAMES else "".join(
            ("_" + c.lower() if c.isupper() else c) for c in identifier).lstrip("_")
        if key not in _NAMES:
            raise ValueError(f"Unknown initializer: {identifier!r}; known: {', '.join(sorted(_NAMES))}")
        return _NAMES[key]()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer: {identifier!r}")
