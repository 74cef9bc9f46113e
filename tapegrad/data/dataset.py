"""Datasets: the map-style Dataset protocol, TensorDataset, Subset, ConcatDataset and random_split.

Depends on the Tensor front end only; used by `tg.data.DataLoader`, the datasets in `datasets/` and the CLI.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np

from ..ops.creation import RNG
from ..tensor import Tensor


class Dataset:
    """A map-style dataset: `dataset[i]` is one sample (any pytree of tensors, arrays and numbers), `len()`
    the number of samples. Subclass it and define `__getitem__` and `__len__`, as with torch.utils.data.

    A dataset may also define `_fetch_batch(indices)` returning an already collated batch: DataLoader then
    uses it instead of fetching samples one at a time (TensorDataset does, so batching is one gather).
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(self, index) to return one sample")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__(self) to return the number of samples")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


def _as_tensor(x) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        from ..ops.creation import from_numpy

        return from_numpy(x)
    raise TypeError(f"TensorDataset: expected tensors or numpy arrays, got {type(x).__name__}")


class TensorDataset(Dataset):
    """Samples are rows of the given tensors: `ds[i] == (t0[i], t1[i], ...)`; all share the first dimension.

    >>> import tapegrad as tg
    >>> ds = tg.data.TensorDataset(tg.arange(6).reshape(3, 2), tg.tensor([0, 1, 0]))
    >>> len(ds), ds[1]
    (3, (tensor([2, 3]), tensor(1)))
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor, e.g. TensorDataset(images, labels)")
        self.tensors = tuple(_as_tensor(t) for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
            raise ValueError(
                f"TensorDataset: the tensors must share their first (sample) dimension, got shapes {shapes}; "
                "slice or reshape them so that row i of each belongs to sample i"
            )

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _fetch_batch(self, indices):
        idx = np.asarray(indices, dtype=np.int64)
        return tuple(t[idx] for t in self.tensors)


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices: Sequence[int]):
        self.dataset, self.indices = dataset, [int(i) for i in indices]

    def __getitem__(self, index):
        if isinstance(index, (list, tuple)):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)

    def _fetch_batch(self, indices):
        inner = getattr(self.dataset, "_fetch_batch", None)
        if inner is None:
            return None
        return inner([self.indices[i] for i in indices])


class ConcatDataset(Dataset):
    """The samples of several datasets, one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: give at least one dataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index: int):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"ConcatDataset: index {index} out of range for {len(self)} samples")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def _split_lengths(lengths, n: int) -> list[int]:
    """Integer lengths from `lengths`, which are either counts summing to n or fractions summing to 1."""
    lengths = list(lengths)
    if any(x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative, got {lengths}")
    if math.isclose(sum(lengths), 1.0) and sum(lengths) <= 1:  # fractions (PyTorch's rule)
        counts = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(counts)):  # hand the remainder out round-robin, as PyTorch does
            counts[i % len(counts)] += 1
        return counts
    if any(x != int(x) for x in lengths) or sum(lengths) != n:
        raise ValueError(
            f"random_split: the lengths {lengths} sum to {sum(lengths)} but the dataset has {n} samples; "
            "give counts that add up to len(dataset), or fractions that add up to 1"
        )
    return [int(x) for x in lengths]


def random_split(dataset, lengths, generator=None, seed: int | None = None) -> list[Subset]:
    """Splits `dataset` into non-overlapping random Subsets of the given lengths (counts or fractions).

    The permutation comes from `generator` (a numpy Generator), else from `seed`, else from tapegrad's
    global generator (seeded by `tg.manual_seed`).

    >>> import tapegrad as tg
    >>> train, test = tg.data.random_split(tg.data.TensorDataset(tg.arange(10)), [0.8, 0.2], seed=0)
    >>> len(train), len(test)
    (8, 2)
    """
    counts = _split_lengths(lengths, len(dataset))
    rng = generator if generator is not None else np.random.default_rng(seed) if seed is not None else RNG.generator
    perm = rng.permutation(len(dataset)).tolist()
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, perm[start : start + c]))
        start += c
    return out
