"""DataLoader: batches from a map-style dataset, with seeded shuffling, drop_last and pytree collation.

Depends on `tg.data.dataset` and the Tensor front end; used by the CLI's `train` and by user training loops.
"""

from __future__ import annotations

import math

import numpy as np

from ..ops.creation import RNG, from_numpy
from ..ops.shape import stack
from ..tensor import Tensor


def default_collate(batch):
    """Stacks a list of samples into one batch, keeping the samples' structure (PyTorch's rules).

    Tensors and numpy arrays are stacked along a new first dimension; Python ints, floats and bools become
    int64, float64 and bool tensors; strings stay a list; dicts, tuples, namedtuples and lists are collated
    field by field.

    >>> import tapegrad as tg
    >>> tg.data.default_collate([{"x": tg.tensor([1., 2.]), "y": 0}, {"x": tg.tensor([3., 4.]), "y": 1}])
    {'x': tensor([[1., 2.],
            [3., 4.]]), 'y': tensor([0, 1])}
    """
    if not batch:
        raise ValueError("default_collate: got an empty batch; a DataLoader never makes one, check the sampler")
    first = batch[0]
    if isinstance(first, Tensor):
        return stack(list(batch))
    if isinstance(first, np.ndarray):
        return from_numpy(np.stack(batch))
    if isinstance(first, (bool, np.bool_)):
        return from_numpy(np.array(batch, dtype=np.bool_))
    if isinstance(first, (int, np.integer)):
        return from_numpy(np.array(batch, dtype=np.int64))
    if isinstance(first, (float, np.floating)):
        return from_numpy(np.array(batch, dtype=np.float64))
    if isinstance(first, (str, bytes)) or first is None:
        return list(batch)
    if isinstance(first, dict):
        _check_same_keys(batch)
        return type(first)((k, default_collate([s[k] for s in batch])) for k in first)
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in batch):
            lengths = sorted({len(s) for s in batch})
            raise ValueError(
                f"default_collate: samples have different lengths {lengths}; every sample must have the same "
                "structure (pass collate_fn= to batch ragged samples yourself)"
            )
        fields = [default_collate(list(group)) for group in zip(*batch)]
        if hasattr(first, "_fields"):  # namedtuple
            return type(first)(*fields)
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(
        f"default_collate: cannot batch samples of type {type(first).__name__}; samples may hold tensors, "
        "numpy arrays, numbers, strings, and dicts / tuples / lists of them; pass collate_fn= for other types"
    )


def _check_same_keys(batch) -> None:
    keys = set(batch[0])
    for s in batch[1:]:
        if set(s) != keys:
            raise ValueError(
                f"default_collate: samples have different keys {sorted(map(str, keys))} and "
                f"{sorted(map(str, s))}; every sample must have the same structure"
            )


class DataLoader:
    """Iterates over a dataset in batches.

    Args:
        dataset: a map-style dataset (`len()` and `[i]`), e.g. a TensorDataset.
        batch_size: samples per batch (the last one may be smaller unless drop_last).
        shuffle: draw a new random order every epoch.
        drop_last: skip the last batch when it is smaller than batch_size.
        collate_fn: turns a list of samples into a batch (default: `default_collate`).
        generator: a numpy Generator for the shuffling; else `seed`; else tapegrad's global generator, so
            `tg.manual_seed` makes the order reproducible.
        seed: an int seed for the shuffling (the epochs still differ from each other, reproducibly).
        sampler: an iterable of indices (with len) that gives the order instead, e.g. a DistributedSampler;
            not together with shuffle.

    >>> import tapegrad as tg
    >>> loader = tg.data.DataLoader(tg.data.TensorDataset(tg.arange(5)), batch_size=2)
    >>> [b[0].tolist() for b in loader]
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 collate_fn=None, generator=None, seed: int | None = None, sampler=None):  # fmt: skip
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True exclude each other (the sampler gives the order; "
                             "DistributedSampler shuffles itself)")  # fmt: skip
        self.sampler = sampler
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.collate_fn = collate_fn
        self.generator = generator if generator is not None or seed is None else np.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self) -> list[int]:
        if self.sampler is not None:
            return list(self.sampler)
        n = len(self.dataset)
        if not self.shuffle:
            return list(range(n))
        rng = self.generator if self.generator is not None else RNG.generator
        return rng.permutation(n).tolist()

    def _fetch(self, indices):
        fetch = getattr(self.dataset, "_fetch_batch", None) if self.collate_fn is None else None
        batch = fetch(indices) if fetch is not None else None
        if batch is not None:
            return batch
        samples = [self.dataset[i] for i in indices]
        return (self.collate_fn or default_collate)(samples)

    def __iter__(self):
        order = self._order()
        for start in range(0, len(order), self.batch_size):
            indices = order[start : start + self.batch_size]
            if self.drop_last and len(indices) < self.batch_size:
                return
            yield self._fetch(indices)
