"""tg.random: TensorFlow's random ops (normal, uniform, truncated_normal, set_seed), plus PyTorch's
torch.random names (manual_seed, initial_seed, get_rng_state, set_rng_state).

All draw from the one generator of ops/creation.py, so tg.manual_seed and tg.random.set_seed are the
same switch; an op-level `seed=` draws from its own generator seeded with it (reproducible per call).
"""

from __future__ import annotations

import numpy as np

from ..dtype import DType, as_dtype, get_default_dtype
from ..ops.creation import RNG, get_rng_state, initial_seed, manual_seed, set_rng_state  # noqa: F401
from ..tensor import Tensor


def set_seed(seed: int) -> None:
    """Seed every random op (the same generator as tg.manual_seed)."""
    manual_seed(seed)


def _generator(seed):
    return RNG.generator if seed is None else np.random.default_rng(int(seed))


def _shape(shape) -> tuple:
    if isinstance(shape, Tensor):
        shape = shape.tolist()
    return (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)


def _float(dtype, op) -> DType:
    d = as_dtype(dtype) if dtype is not None else get_default_dtype()
    if not d.is_floating_point:
        raise ValueError(f"random.{op}: dtype must be a floating dtype, got {d.name}")
    return d


def _value(v):
    return v._data if isinstance(v, Tensor) else v


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, name=None) -> Tensor:
    """Samples from N(mean, stddev**2) of the given shape (float32 by default).

    >>> import tapegrad as tg
    >>> tg.random.normal([2, 2], seed=0).shape
    (2, 2)
    """
    d = _float(dtype, "normal")
    arr = _generator(seed).normal(_value(mean), _value(stddev), _shape(shape))
    return Tensor._make(np.asarray(arr, d.np))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, name=None) -> Tensor:
    """Normal samples redrawn until within two standard deviations of the mean, as in TensorFlow."""
    d = _float(dtype, "truncated_normal")
    gen, shape = _generator(seed), _shape(shape)
    z = gen.standard_normal(shape)
    bad = np.abs(z) > 2
    while bad.any():
        z[bad] = gen.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2
    return Tensor._make(np.asarray(_value(mean) + _value(stddev) * z, d.np))


def uniform(shape, minval=0, maxval=None, dtype=None, seed=None, name=None) -> Tensor:
    """Uniform samples in [minval, maxval) (maxval 1 for floats; required for integer dtypes)."""
    d = as_dtype(dtype) if dtype is not None else get_default_dtype()
    gen, shape = _generator(seed), _shape(shape)
    if d.is_floating_point:
        hi = 1.0 if maxval is None else _value(maxval)
        return Tensor._make(np.asarray(gen.uniform(_value(minval), hi, shape), d.np))
    if maxval is None:
        raise ValueError(f"random.uniform: maxval must be given for the integer dtype {d.name}, e.g. maxval=10")
    return Tensor._make(gen.integers(int(minval), int(maxval), shape).astype(d.np))


def shuffle(value, seed=None, name=None) -> Tensor:
    """value with its first axis randomly permuted."""
    from ..ops import index_select, tensor

    perm = _generator(seed).permutation(value.shape[0])
    return index_select(value, 0, tensor(perm))
