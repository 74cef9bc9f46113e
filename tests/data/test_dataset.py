"""tg.data datasets and loaders: TensorDataset, Subset, random_split, DataLoader batching, shuffling with a
seed, drop_last and the collation of pytrees."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.data import DataLoader, Dataset, TensorDataset, default_collate, random_split


def _ids(loader):
    return [b[0].tolist() for b in loader]


def test_tensor_dataset_rows_and_errors():
    ds = TensorDataset(tg.arange(12).reshape(6, 2), np.arange(6))
    assert len(ds) == 6
    x, y = ds[4]
    assert x.tolist() == [8, 9] and y.item() == 4
    with pytest.raises(ValueError, match="first .sample. dimension"):
        TensorDataset(tg.zeros(3, 2), tg.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_batching_keeps_order_and_last_partial_batch():
    loader = DataLoader(TensorDataset(tg.arange(7)), batch_size=3)
    assert len(loader) == 3
    assert _ids(loader) == [[0, 1, 2], [3, 4, 5], [6]]


def test_drop_last():
    loader = DataLoader(TensorDataset(tg.arange(7)), batch_size=3, drop_last=True)
    assert len(loader) == 2
    assert _ids(loader) == [[0, 1, 2], [3, 4, 5]]


def test_shuffle_with_seed_is_reproducible_and_differs_between_epochs():
    ds = TensorDataset(tg.arange(20))
    a, b = DataLoader(ds, batch_size=5, shuffle=True, seed=3), DataLoader(ds, batch_size=5, shuffle=True, seed=3)
    first, again = _ids(a), _ids(b)
    assert first == again
    assert sorted(i for batch in first for i in batch) == list(range(20))
    assert _ids(a) != first  # the next epoch draws a new order
    assert _ids(DataLoader(ds, batch_size=5, shuffle=True, seed=4)) != first


def test_shuffle_follows_manual_seed_without_a_generator():
    ds = TensorDataset(tg.arange(10))
    tg.manual_seed(11)
    first = _ids(DataLoader(ds, batch_size=4, shuffle=True))
    tg.manual_seed(11)
    assert _ids(DataLoader(ds, batch_size=4, shuffle=True)) == first


def test_generator_argument():
    ds = TensorDataset(tg.arange(10))
    one = _ids(DataLoader(ds, batch_size=10, shuffle=True, generator=np.random.default_rng(5)))
    two = _ids(DataLoader(ds, batch_size=10, shuffle=True, generator=np.random.default_rng(5)))
    assert one == two


class Dicts(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": tg.full((2,), float(i)), "meta": (i, float(i) / 2, f"s{i}", np.array([i, -i]))}


def test_collate_pytrees_through_the_loader():
    batches = list(DataLoader(Dicts(), batch_size=2))
    assert len(batches) == 3
    b = batches[0]
    assert b["x"].shape == (2, 2) and b["x"].dtype == tg.float32
    i, half, names, arr = b["meta"]
    assert i.tolist() == [0, 1] and i.dtype == tg.int64
    assert half.tolist() == [0.0, 0.5] and half.dtype == tg.float64  # Python floats, as PyTorch
    assert names == ["s0", "s1"]
    assert arr.tolist() == [[0, 0], [1, -1]]
    assert batches[-1]["x"].shape == (1, 2)


def test_collate_namedtuple_list_and_bool():
    P = namedtuple("P", "a b")
    out = default_collate([P(tg.tensor(1.0), True), P(tg.tensor(2.0), False)])
    assert isinstance(out, P) and out.a.tolist() == [1.0, 2.0] and out.b.dtype == tg.bool
    lists = default_collate([[1, 2], [3, 4]])
    assert isinstance(lists, list) and lists[0].tolist() == [1, 3]


def test_collate_errors_name_the_problem():
    with pytest.raises(ValueError, match="different lengths"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(ValueError, match="different keys"):
        default_collate([{"a": 1}, {"b": 1}])
    with pytest.raises(TypeError, match="collate_fn"):
        default_collate([object(), object()])


def test_custom_collate_fn_and_plain_dataset():
    loader = DataLoader(list(range(5)), batch_size=2, collate_fn=lambda xs: sum(xs))
    assert list(loader) == [1, 5, 4]


def test_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(TensorDataset(tg.arange(3)), batch_size=0)


def test_random_split_counts_fractions_and_seed():
    ds = TensorDataset(tg.arange(10))
    a, b = random_split(ds, [7, 3], seed=0)
    ids = [a[i][0].item() for i in range(len(a))] + [b[i][0].item() for i in range(len(b))]
    assert sorted(ids) == list(range(10)) and (len(a), len(b)) == (7, 3)
    c, d = random_split(ds, [7, 3], seed=0)
    assert c.indices == a.indices and d.indices == b.indices
    x, y, z = random_split(ds, [0.5, 0.3, 0.2], seed=1)
    assert (len(x), len(y), len(z)) == (5, 3, 2)
    uneven = random_split(TensorDataset(tg.arange(11)), [0.5, 0.5], seed=1)
    assert sorted(len(s) for s in uneven) == [5, 6]
    with pytest.raises(ValueError, match="sum to 9"):
        random_split(ds, [6, 3])


def test_subset_batches_through_the_fast_path():
    ds = TensorDataset(tg.arange(10) * 10, tg.arange(10))
    train, _ = random_split(ds, [6, 4], seed=2)
    xs = [x for x, _ in DataLoader(train, batch_size=4)]
    assert sum(x.shape[0] for x in xs) == 6
    assert [v // 10 for v in tg.cat(xs).tolist()] == train.indices


def test_concat_dataset():
    ds = TensorDataset(tg.arange(3)) + TensorDataset(tg.arange(3, 5))
    assert len(ds) == 5 and ds[3][0].item() == 3 and ds[-1][0].item() == 4
    with pytest.raises(IndexError):
        ds[5]
