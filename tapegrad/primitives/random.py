"""Random primitives: counter-based draws, deterministic given an integer key.

`random_bits(key, shape=, dtype=, distribution=)` draws a tensor of `shape` from "uniform" ([0, 1)) or
"normal" (standard normal) with numpy's `default_rng(key)`: the same key gives the same numbers, so a
graph that feeds a fresh key on every call (tg.jit / tg.function: ops/creation.py's key state, a captured
tensor advanced in place) draws fresh numbers on every call. Not differentiable: the output is noise, its
gradient with respect to the key is zero (None). Batching maps over a batch of keys (one draw per key).
"""

from __future__ import annotations

from . import batching
from .base import RANDOM, AVal, Primitive, bind, register

# "bits": int64 values in [0, 2**62), drawn from a stream separate from the key's uniform/normal draws; new
# keys for JAX's explicit-key API (func/random.py: split, fold_in) are made of them
DISTRIBUTIONS = ("uniform", "normal", "bits")


@register
class RandomBits(Primitive):
    family = RANDOM
    name = "random_bits"
    differentiable = False
    saves = ()
    vjp_reads_inputs = False

    def shape(self, key, *, shape, dtype, distribution):
        if key.shape != ():
            raise ValueError(f"random_bits: the key must be a scalar integer tensor, got shape {key.shape}")
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"random_bits: distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
        return AVal(tuple(shape), dtype)

    def vjp(self, g, key, *, out, shape, dtype, distribution):
        return (None,)

    def jvp(self, dxs, xs, out, *, shape, dtype, distribution):
        return None

    def batch(self, xs, bdims, *, shape, dtype, distribution):
        """One independent draw per key: a loop over the batch of keys, stacked on a new leading axis."""
        from .movement import Concat, Reshape, Slice

        keys = batching.move_to_front(xs[0], bdims[0])
        n = keys.shape[0]
        params = dict(shape=shape, dtype=dtype, distribution=distribution)
        outs = []
        for b in range(n):
            k = bind(Reshape, bind(Slice, keys, index=((b, b + 1, 1),)), shape=())
            outs.append(bind(Reshape, bind(self, k, **params), shape=(1,) + tuple(shape)))
        if not outs:
            from ..tensor import Tensor
            import numpy as np

            return Tensor._make(np.zeros((0,) + tuple(shape), dtype.np)), 0
        return (outs[0] if n == 1 else bind(Concat, *outs, axis=0)), 0
