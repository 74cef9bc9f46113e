"""tg.distributed in one process: the messages before a group exists, a world of one, DistributedSampler,
and the DataLoader's sampler argument."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
import tapegrad.distributed as dist
from tapegrad.distributed import functional as fc


@pytest.fixture
def world_of_one(monkeypatch):
    pytest.importorskip("mpi4py", reason='needs the mpi extra: pip install "tapegrad[mpi]"')
    dist.init_process_group(backend="mpi")
    yield
    dist.destroy_process_group()


def test_before_init_the_error_says_how_to_start(monkeypatch):
    for k in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK"):
        monkeypatch.delenv(k, raising=False)
    assert not dist.is_initialized()
    with pytest.raises(dist.DistributedError, match="mpiexec -n N|pip install"):
        dist.all_reduce(tg.ones(2))


def test_without_mpi4py_each_call_says_what_to_install(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_mpi(name, *args, **kwargs):
        if name.startswith("mpi4py"):
            raise ImportError("No module named 'mpi4py'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mpi)
    assert not dist.is_available()
    for call in (lambda: dist.init_process_group(), lambda: dist.get_rank(), lambda: dist.all_reduce(tg.ones(1))):
        with pytest.raises(dist.DistributedError, match=r'pip install "tapegrad\[mpi\]"'):
            call()


def test_unknown_backend_and_op(world_of_one):
    with pytest.raises(dist.DistributedError, match="unknown reduce op"):
        dist.all_reduce(tg.ones(2), op="mean")
    with pytest.raises(dist.DistributedError, match="already initialized"):
        dist.init_process_group()


def test_world_of_one_is_the_identity(world_of_one):
    assert (dist.get_rank(), dist.get_world_size(), dist.is_initialized()) == (0, 1, True)
    x = tg.arange(6.0).reshape(2, 3)
    for op in ("sum", "avg", "max", "min"):
        y = x.clone()
        dist.all_reduce(y, op=op)
        np.testing.assert_array_equal(y.numpy(), x.numpy())
    out = [tg.zeros(2, 3)]
    dist.all_gather(out, x)
    np.testing.assert_array_equal(out[0].numpy(), x.numpy())
    v = tg.randn(3, dtype=tg.float64, requires_grad=True)
    for f in (lambda t: fc.all_reduce(t * t, "sum"), lambda t: fc.all_reduce(t * t, "max"),
              lambda t: fc.all_gather_tensor(t.sin(), 0), lambda t: fc.reduce_scatter_tensor(t * 2, "avg"),
              lambda t: fc.broadcast(t.exp(), 0)):  # fmt: skip
        assert tg.autograd.gradcheck(f, (v,))
        assert tg.autograd.gradgradcheck(f, (v,))


def test_ddp_in_a_world_of_one_is_the_module(world_of_one):
    tg.manual_seed(0)
    inner = tg.nn.Linear(3, 2)
    model = tg.nn.parallel.DistributedDataParallel(inner)
    x = tg.randn(4, 3)
    model(x).sum().backward()
    assert inner.weight.grad is not None
    assert set(model.state_dict()) == {"module.weight", "module.bias"}


def test_distributed_sampler_shards_are_disjoint_and_cover():
    ds = tg.data.TensorDataset(tg.arange(10))
    for replicas in (1, 2, 3, 4):
        shards = [list(tg.data.DistributedSampler(ds, replicas, r, seed=3)) for r in range(replicas)]
        assert len({len(s) for s in shards}) == 1  # every rank runs the same number of batches
        seen = [i for s in shards for i in s]
        assert set(seen) == set(range(10))
        assert len(seen) - len(set(seen)) == (-10) % replicas  # only the padding repeats
    short = [list(tg.data.DistributedSampler(ds, 3, r, drop_last=True)) for r in range(3)]
    assert [len(s) for s in short] == [3, 3, 3] and len({i for s in short for i in s}) == 9


def test_set_epoch_reshuffles_the_same_way_on_every_rank():
    ds = tg.data.TensorDataset(tg.arange(12))
    a, b = (tg.data.DistributedSampler(ds, 2, r) for r in (0, 1))
    first = list(a) + list(b)
    a.set_epoch(1)
    b.set_epoch(1)
    second = list(a) + list(b)
    assert sorted(first) == sorted(second) == list(range(12)) and first != second
    assert list(tg.data.DistributedSampler(ds, 2, 0, shuffle=False)) == [0, 2, 4, 6, 8, 10]


def test_data_loader_takes_a_sampler():
    ds = tg.data.TensorDataset(tg.arange(7))
    sampler = tg.data.DistributedSampler(ds, 2, 1, shuffle=False)
    loader = tg.data.DataLoader(ds, batch_size=2, sampler=sampler)
    assert len(loader) == 2 and [b[0].tolist() for b in loader] == [[1, 3], [5, 0]]
    with pytest.raises(ValueError, match="exclude each other"):
        tg.data.DataLoader(ds, sampler=sampler, shuffle=True)
