"""JAX's explicit-key random numbers: keys are values, and a draw is a function of its key alone.

A key is a 0-d int64 tensor (JAX's PRNGKey is a uint32 pair; tapegrad has no uint32, and one integer
is enough for numpy's seeded generators). Every draw binds the random_bits primitive on the key, so the
same key gives the same numbers eagerly, inside tg.jit (the key is an ordinary traced input: a new key does
not retrace) and under vmap (random_bits maps over a batch of keys, one draw per key). `split` and
`fold_in` make new keys from a salted stream ("bits"), separate from the key's own draws.

tapegrad.random (tapegrad/random.py) holds these beside TensorFlow's names; tg.func.random is that module too.
"""

from __future__ import annotations

import math

from ..dtype import DType, as_dtype, get_default_dtype, int64
from ..ops.operands import as_operand
from ..primitives.base import bind
from ..primitives.random import RandomBits
from ..tensor import Tensor


def key(seed) -> Tensor:
    """A key from an integer seed (a Python int or an integer tensor, traced or not)."""
    seed = as_operand(seed, "key", "seed")
    if seed.ndim != 0 or seed.dtype.is_floating_point:
        raise TypeError(f"key: the seed must be an integer scalar, got {seed.dtype.name} of shape {tuple(seed.shape)}")
    return seed if seed.dtype is int64 and not seed._weak else seed.to(int64) * 1


PRNGKey = key


def is_key(value) -> bool:
    """Whether value can be a key: a 0-d integer tensor (what key, split and fold_in return)."""
    return isinstance(value, Tensor) and value.ndim == 0 and value.dtype.category == 1


def _check_key(k, op):
    if not is_key(k):
        shape = tuple(getattr(k, "shape", ()))
        more = " (a batch of keys: map over it with vmap, or index one)" if shape else ""
        raise TypeError(f"random.{op}: expected a key (random.key(seed)), got {type(k).__name__} of shape {shape}{more}")
    return k


def _bits(k, shape):
    return bind(RandomBits, k, shape=tuple(shape), dtype=int64, distribution="bits")


def split(key, num=2) -> Tensor:
    """num new independent keys, stacked (shape (num,)): `k1, k2 = random.split(key)`."""
    return _bits(_check_key(key, "split"), (int(num),))


def fold_in(key, data) -> Tensor:
    """A new key from key and an integer (a step number, a device index): distinct data, distinct keys."""
    mixed = _bits(_check_key(key, "fold_in"), ()) + as_operand(data, "fold_in", "data").to(int64)
    return _bits(mixed, ())


def _shape(shape) -> tuple:
    if shape is None:
        return ()
    return (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)


def _float(dtype, op) -> DType:
    d = as_dtype(dtype) if dtype is not None else get_default_dtype()
    if not d.is_floating_point:
        raise TypeError(f"random.{op}: dtype must be a floating dtype, got {d.name}")
    return d


def normal(key, shape=(), dtype=None) -> Tensor:
    """Standard normal samples of `shape` (float32 by default)."""
    d = _float(dtype, "normal")
    return bind(RandomBits, _check_key(key, "normal"), shape=_shape(shape), dtype=d, distribution="normal")


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0) -> Tensor:
    """Uniform samples in [minval, maxval)."""
    d = _float(dtype, "uniform")
    u = bind(RandomBits, _check_key(key, "uniform"), shape=_shape(shape), dtype=d, distribution="uniform")
    if isinstance(minval, (int, float)) and isinstance(maxval, (int, float)) and (minval, maxval) == (0.0, 1.0):
        return u
    return u * (maxval - minval) + minval


def bernoulli(key, p=0.5, shape=None) -> Tensor:
    """Booleans, True with probability p (p broadcasts against shape, which defaults to p's shape)."""
    p = as_operand(p, "bernoulli", "p")
    return uniform(key, p.shape if shape is None else shape) < p


def randint(key, shape, minval, maxval, dtype=int64) -> Tensor:
    """Integers in [minval, maxval)."""
    lo, hi = as_operand(minval, "randint", "minval"), as_operand(maxval, "randint", "maxval")
    # NOTE: float64 keeps floor(u * span) exact for spans up to 2**53
    u = uniform(key, shape, dtype="float64")
    return ((u * (hi - lo)).floor() + lo).to(as_dtype(dtype))


def permutation(key, x, axis=0, independent=False) -> Tensor:
    """A random permutation of range(x) for an int x, else x shuffled along axis."""
    if isinstance(x, int):
        return uniform(key, (x,)).argsort(-1)
    x = as_operand(x, "permutation", "x")
    order = uniform(key, (x.shape[axis],)).argsort(-1)
    return x.index_select(axis, order)


def gumbel(key, shape=(), dtype=None) -> Tensor:
    u = uniform(key, shape, dtype)
    tiny = float(_tiny(u.dtype))
    return -(-(u.clamp(tiny, 1.0)).log()).clamp(tiny).log()


def _tiny(d):
    import numpy as np

    return np.finfo(np.float32 if d.np is None else d.np).tiny


def categorical(key, logits, axis=-1, shape=None) -> Tensor:
    """Indices drawn with probabilities softmax(logits) along axis (the Gumbel-max trick)."""
    logits = as_operand(logits, "categorical", "logits")
    batch = list(logits.shape)
    del batch[axis % logits.ndim]
    out_shape = tuple(batch) if shape is None else _shape(shape)
    moved = logits.movedim(axis, -1)
    g = gumbel(key, out_shape + (logits.shape[axis],), logits.dtype if logits.dtype.is_floating_point else None)
    return (moved + g).argmax(-1)


def choice(key, a, shape=(), replace=True, p=None, axis=0) -> Tensor:
    """Samples of a (range(a) for an int a) along axis, with or without replacement, weighted by p."""
    n = a if isinstance(a, int) else as_operand(a, "choice", "a").shape[axis]
    count = math.prod(_shape(shape))
    if replace:
        if p is None:
            idx = randint(key, _shape(shape), 0, n)
        else:
            logp = as_operand(p, "choice", "p").log()
            idx = categorical(key, logp, shape=_shape(shape))
    else:
        if count > n:
            raise ValueError(f"random.choice: cannot take {count} samples from {n} without replacement")
        score = gumbel(key, (n,)) if p is None else gumbel(key, (n,)) + as_operand(p, "choice", "p").log()
        idx = score.argsort(-1).flip(0)[:count].reshape(_shape(shape))
    if isinstance(a, int):
        return idx
    a = as_operand(a, "choice", "a")
    return a.index_select(axis, idx.reshape(-1)).reshape(
        a.shape[:axis] + _shape(shape) + a.shape[axis + 1:] if axis >= 0 else _shape(shape))


__all__ = ["PRNGKey", "bernoulli", "categorical", "choice", "fold_in", "gumbel", "is_key", "key", "normal",
           "permutation", "randint", "split", "uniform"]
