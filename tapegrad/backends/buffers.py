"""Large output buffers reused between eager ops: a small pool of blocks, one list per byte size.

A fresh large array costs page faults on its first write: the eager W3 step (4M floats, about ten 16 MB temporaries)
took 3,082 minor faults per step, and ran 20 ms instead of 28 with glibc told to keep freed memory. Changing malloc
for the whole process (mallopt) would change it for every library in it, so the C backend's eager kernels take
their outputs from here instead, as PyTorch's CUDA caching allocator and XLA's BFC allocator keep device memory.

An array from `empty` is an ordinary numpy array whose base is a `Lease` holding the block; when the array and every
view of it are gone the lease's __del__ puts the block back, and at most TAPEGRAD_POOL_MB (default 256; 0 turns the
pool off) stay idle. Below MIN_BYTES malloc reuses freed memory by itself.
"""

from __future__ import annotations

import math
import os
import sys
import threading

import numpy as np

MIN_BYTES = 1 << 20
POOL_BYTES = int(float(os.environ.get("TAPEGRAD_POOL_MB", "256")) * (1 << 20))

_idle: dict = {}  # nbytes -> [raw uint8 blocks]
_held = [0]  # bytes idle in _idle
# Re-entrant: a lease can die (and give its block back) inside the locked section of another, on the same thread.
_lock = threading.RLock()


def _after_fork() -> None:
    """A forked child gets a fresh lock (another thread may have held the parent's at the fork) and no idle blocks."""
    global _lock
    _lock = threading.RLock()
    _idle.clear()
    _held[0] = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


class Lease:
    """The base of a pooled array: keeps its raw block alive and gives it back when the last view is gone."""

    __slots__ = ("raw", "__array_interface__")

    def __init__(self, raw, shape, typestr):
        self.raw = raw
        self.__array_interface__ = {"version": 3, "shape": shape, "typestr": typestr,
                                    "data": (raw.__array_interface__["data"][0], False)}

    def __del__(self):
        try:
            _give_back(self.raw)
        except Exception:  # interpreter shutdown: the module's globals may be gone
            pass


def empty(shape, dtype) -> np.ndarray:
    """np.empty(shape, dtype), from the pool when it is at least MIN_BYTES."""
    dtype = np.dtype(dtype)
    n = dtype.itemsize * math.prod(shape)
    if n < MIN_BYTES or not POOL_BYTES:
        return np.empty(shape, dtype)
    raw = None
    with _lock:
        blocks = _idle.get(n)
        if blocks:
            raw = blocks.pop()
            _held[0] -= n
    if raw is None:
        raw = np.empty(n, np.uint8)
    return np.asarray(Lease(raw, tuple(shape), dtype.str))


def _give_back(raw) -> None:
    n = raw.nbytes
    with _lock:
        if _held[0] + n <= POOL_BYTES:
            _idle.setdefault(n, []).append(raw)
            _held[0] += n


def idle_bytes() -> int:
    return _held[0]


def release_idle() -> None:
    """Hand every idle block back to malloc (PyTorch's empty_cache)."""
    with _lock:
        _idle.clear()
        _held[0] = 0


def sole_view(a) -> bool:
    """a's memory is a's alone: a owns it, or a is the only view of a whole pooled block (the lease referenced by a,
    the local name and getrefcount's argument). The engine adds into such arrays in place (engine._sum,
    _sole_owner)."""
    if a.flags.owndata:
        return True
    base = a.base
    return type(base) is Lease and a.nbytes == base.raw.nbytes and sys.getrefcount(base) <= 3
