"""DistributedSampler: each rank's share of a data set's indices, as torch.utils.data.distributed's.

Every rank draws the same permutation (seeded by seed + epoch, so `set_epoch` reshuffles), pads it by
repeating its first indices until it divides into num_replicas equal parts (or, with drop_last, cuts the
tail), and takes every num_replicas-th index from position `rank` on: the shares are disjoint up to the
padding, cover the data set, and have one length, so every rank runs the same number of batches (a rank
that ran one batch more would wait forever in that batch's all-reduce).
"""

from __future__ import annotations

import math

import numpy as np


class DistributedSampler:
    """Indices of this rank's share of `dataset`; pass it as DataLoader(..., sampler=...).

    num_replicas and rank default to tg.distributed's world size and rank. Call `set_epoch(epoch)` before
    each epoch, or every epoch repeats the first one's order."""

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False):  # fmt: skip
        if num_replicas is None or rank is None:
            from .. import comm

            g = comm.group()
            num_replicas = g.size if num_replicas is None else num_replicas
            rank = g.rank if rank is None else rank
        if not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank {rank} is not in [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self):
        n = len(self.dataset)
        order = np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle else np.arange(n)
        if self.total_size > n:  # repeat from the start (more than once when the data set is tiny)
            order = np.resize(order, self.total_size)
        order = order[: self.total_size]
        return iter(order[self.rank : self.total_size : self.num_replicas].tolist())
