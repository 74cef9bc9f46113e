"""The pool of large eager output buffers (backends/buffers.py): blocks come back only when every view is gone, are
reused for the same size, stay under the cap, and the engine's in-place shortcuts see a pooled array as its own."""

import gc

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.backends import buffers


@pytest.fixture(autouse=True)
def fresh_pool(monkeypatch):
    buffers.release_idle()
    monkeypatch.setattr(buffers, "POOL_BYTES", 64 << 20)
    yield
    buffers.release_idle()


def _address(a):
    return a.__array_interface__["data"][0]


def test_small_arrays_are_plain_numpy():
    a = buffers.empty((10, 10), np.float32)
    assert a.flags.owndata and a.shape == (10, 10) and a.dtype == np.float32


def test_a_block_is_reused_only_after_every_view_is_gone():
    a = buffers.empty((1 << 19,), np.float32)  # 2 MB
    assert type(a.base) is buffers.Lease and a.flags.writeable and a.flags.c_contiguous
    a[:] = 7
    where = _address(a)
    view = a[10:20]
    del a
    gc.collect()
    assert buffers.idle_bytes() == 0  # the view still holds the block
    b = buffers.empty((1 << 19,), np.float32)
    assert _address(b) != where  # a new block: the old one is still in use
    np.testing.assert_array_equal(view, 7)
    del view
    assert buffers.idle_bytes() == 2 << 20
    c = buffers.empty((1 << 18,), np.float64)  # the same byte size, another dtype and shape
    assert _address(c) == where and c.dtype == np.float64 and c.shape == (1 << 18,)
    assert buffers.idle_bytes() == 0
    del b, c


def test_idle_blocks_stay_under_the_cap(monkeypatch):
    monkeypatch.setattr(buffers, "POOL_BYTES", 3 << 20)
    arrays = [buffers.empty((1 << 18,), np.float32) for _ in range(5)]  # 1 MB each
    del arrays
    assert buffers.idle_bytes() == 3 << 20


def test_pool_off(monkeypatch):
    monkeypatch.setattr(buffers, "POOL_BYTES", 0)
    assert buffers.empty((1 << 20,), np.float32).flags.owndata


def test_sole_view():
    a = buffers.empty((1 << 19,), np.float32)
    assert buffers.sole_view(a)
    v = a[:]
    assert not buffers.sole_view(v)  # a view of the pooled array (whose own count the engine checks)
    del v
    assert not buffers.sole_view(a[: 1 << 18])  # part of the block
    assert buffers.sole_view(np.zeros(3)) and not buffers.sole_view(np.zeros(4)[:2])


def test_eager_gradients_through_pooled_outputs_match_numpy():
    """A C-kernel-sized eager step twice (the second on reused blocks) gives the same, right gradient."""
    from tapegrad.backends.c import compiler

    if not compiler.compiler():
        pytest.skip("no C compiler: eager ops stay on numpy")
    x0 = np.random.default_rng(0).standard_normal(1 << 20).astype(np.float32)
    grads = []
    for _ in range(3):
        x = tg.tensor(x0, requires_grad=True)
        (x.sigmoid() * x.tanh() + x.exp() * 0.5).sum().backward()
        grads.append(x.grad.numpy().copy())
    s, t = 1 / (1 + np.exp(-x0.astype(np.float64))), np.tanh(x0.astype(np.float64))
    want = s * (1 - s) * t + s * (1 - t * t) + 0.5 * np.exp(x0.astype(np.float64))
    for g in grads:
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-6)


def test_a_forked_child_starts_with_a_fresh_lock_and_no_idle_blocks():
    old = buffers._lock
    a = buffers.empty((1 << 19,), np.float32)
    del a  # one idle block
    assert buffers.idle_bytes() > 0
    buffers._after_fork()  # what os.register_at_fork runs in the child
    assert buffers._lock is not old and buffers.idle_bytes() == 0
