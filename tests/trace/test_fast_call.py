"""The fast call path of tg.jit / tg.function (trace/function.py `_fast_key`, `_remember`, `_call_fast`): a call
whose positional tensor arguments have a signature seen before skips binding, flattening and the cache key. Each
test makes the fast path's decision matter: the wrong graph, leaf order or grad handling gives a wrong answer."""

import ctypes
import warnings

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.backends.executor import data_pointer
from tapegrad.trace import RetraceWarning

BACKENDS = ["numpy", "c"]


def _t(*shape, seed=0):
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


@pytest.mark.parametrize("backend", BACKENDS)
def test_leaf_order_follows_the_argument_names_not_the_positions(backend):
    # flatten() orders leaves by argument name: (z, a) -> leaves [a, z]; *rest sits between
    def f(z, a, *rest):
        return z * 2 - a + (rest[0] * rest[1] if rest else 0)

    g = tg.jit(f, backend=backend)
    z, a, r0, r1 = _t(3, seed=1), _t(3, seed=2), _t(3, seed=3), _t(3, seed=4)
    for _ in range(3):  # the first call traces, the others take the fast path
        np.testing.assert_allclose(g(z, a, r0, r1).numpy(), f(z, a, r0, r1).numpy(), rtol=1e-6)
        np.testing.assert_allclose(g(a, z, r1, r0).numpy(), f(a, z, r1, r0).numpy(), rtol=1e-6)
        np.testing.assert_allclose(g(z, a).numpy(), f(z, a).numpy(), rtol=1e-6)
    assert g.trace_count == 2  # (3,)x4 and (3,)x2


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_tensor_twice_then_two_tensors(backend):
    g = tg.jit(lambda x, y: x - 2 * y, backend=backend)
    x, y = _t(4, seed=1), _t(4, seed=2)
    np.testing.assert_allclose(g(x, x).numpy(), -x.numpy(), rtol=1e-6)
    np.testing.assert_allclose(g(x, y).numpy(), (x - 2 * y).numpy(), rtol=1e-6)
    np.testing.assert_allclose(g(y, x).numpy(), (y - 2 * x).numpy(), rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_new_values_in_the_same_arrays_are_read(backend):
    g = tg.jit(lambda x: (x * x).sum(), backend=backend)
    x = _t(16)
    g(x)
    for k in range(3):
        x._data[...] = k + 1.0
        assert g(x).item() == pytest.approx(16 * (k + 1.0) ** 2)
    assert g(tg.tensor(np.arange(16.0, dtype=np.float32)[::-1].copy())).item() == pytest.approx(1240.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_input_that_requires_grad_still_gets_a_gradient(backend):
    g = tg.jit(lambda x: (x * x).sum(), backend=backend)
    x = _t(5)
    g(x)
    g(x)  # fast path, no grad
    xr = x.detach().requires_grad_()
    y = g(xr)
    assert y.requires_grad
    y.backward()
    np.testing.assert_allclose(xr.grad.numpy(), 2 * x.numpy(), rtol=1e-6)
    with tg.no_grad():
        assert not g(xr).requires_grad  # grad mode off: the fast path may run it


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_captured_parameter_that_starts_requiring_grad(backend):
    w = tg.nn.Parameter(_t(3, seed=5))
    w.requires_grad_(False)
    g = tg.function(lambda x: (x * w).sum(), backend=backend)
    x = _t(3)
    g(x)
    assert not g(x).requires_grad
    w.requires_grad_(True)
    y = g(x)
    assert y.requires_grad  # the fast path stepped aside: the call has a backward
    y.backward()
    np.testing.assert_allclose(w.grad.numpy(), x.numpy(), rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_outputs_are_fresh_and_writable(backend):
    g = tg.jit(lambda x: (x + 1, tg.zeros(3), x.sum()), backend=backend)
    x = _t(3)
    a1, z1, s1 = g(x)
    a2, z2, s2 = g(x)
    assert not np.shares_memory(a1.numpy(), a2.numpy()) and not np.shares_memory(z1.numpy(), z2.numpy())
    z1.numpy()[...] = 7.0  # the plan's constant is not changed for the next call
    np.testing.assert_array_equal(g(x)[1].numpy(), np.zeros(3, np.float32))
    assert s2.numpy().flags.writeable and s2.shape == ()


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_tensor_arguments_take_the_full_path(backend):
    g = tg.jit(lambda x, y: x * y, backend=backend)
    x = _t(3)
    g(x, x)
    np.testing.assert_allclose(g(x, 2.0).numpy(), 2 * x.numpy(), rtol=1e-6)
    np.testing.assert_allclose(g(x, np.ones(3, np.float32)).numpy(), x.numpy(), rtol=1e-6)
    np.testing.assert_allclose(g(x, y=x).numpy(), x.numpy() ** 2, rtol=1e-6)


def test_static_arguments_are_never_skipped():
    g = tg.jit(lambda x, n: x * n, static_argnums=1, backend="c")
    warnings.simplefilter("ignore", RetraceWarning)
    x = _t(3)
    for n in (1, 2, 3, 2):
        np.testing.assert_allclose(g(x, n).numpy(), n * x.numpy(), rtol=1e-6)


def test_data_pointer_matches_ctypes():
    base = np.arange(64, dtype=np.float64).reshape(8, 8)
    arrays = [base, base[2:, 1:], base.T, base[::2], np.empty(0, np.float32), np.ones((), np.float32),
              np.zeros(5, np.int8), np.ones((3, 3), np.complex64)[1:]]
    for a in arrays:
        assert data_pointer(a) == a.ctypes.data
    # the pointer addresses the data: read the element back through it
    assert ctypes.c_double.from_address(data_pointer(base[3:, 2:])).value == base[3, 2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_grads_written_by_a_compiled_step_are_kept_and_not_shared(backend):
    # the .grad arrays a step writes are the plan's new outputs, kept without a copy: they must be right, stay
    # unchanged by the next call, and not be the array returned as a result (which the caller may change)
    def make():
        tg.manual_seed(0)
        model = tg.nn.Linear(3, 2)
        opt = tg.optim.SGD(model.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = model(x).square().sum()
            loss.backward()
            opt.step()
            return loss, model.weight.grad  # the same value as a result and as the .grad write-back

        return model, step

    model, step = make()
    eager_model, eager_step = make()
    f = tg.function(step, backend=backend)
    x1, x2 = _t(4, 3, seed=1), _t(4, 3, seed=2)
    _, g_out = f(x1)
    eager_step(x1)
    g1, b1 = model.weight.grad, model.bias.grad
    np.testing.assert_allclose(g1.numpy(), eager_model.weight.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(b1.numpy(), eager_model.bias.grad.numpy(), rtol=1e-5)
    assert not np.shares_memory(g1.numpy(), g_out.numpy())
    g_out.numpy()[...] = 0  # the caller's result: .grad does not change with it
    np.testing.assert_allclose(g1.numpy(), eager_model.weight.grad.numpy(), rtol=1e-5)
    kept = b1.numpy().copy()
    f(x2)
    eager_step(x2)
    np.testing.assert_array_equal(b1.numpy(), kept)  # the next call writes new arrays
    assert not np.shares_memory(model.bias.grad.numpy(), b1.numpy())
    np.testing.assert_allclose(model.bias.grad.numpy(), eager_model.bias.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(model.weight.numpy(), eager_model.weight.numpy(), rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_grad_mode_calls_take_the_fast_path_and_still_differentiate(backend):
    # tg.grad(f) calls f with a leaf that requires grad: the fast path keys on the flag and attaches the Node
    f = tg.jit(lambda x, w: (tg.tanh(x * w) ** 2).sum(), backend=backend)
    x, w = _t(6, seed=1), _t(6, seed=2)
    expect = tg.grad(lambda x, w: (tg.tanh(x * w) ** 2).sum(), argnums=(0, 1))(x, w)
    warnings.simplefilter("ignore", RetraceWarning)  # three signatures on purpose (pytest restores the filters)
    for _ in range(3):
        got = tg.grad(f, argnums=(0, 1))(x, w)
        for g, e in zip(got, expect):
            np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-5, atol=1e-6)
        gx = tg.grad(f)(x, w)  # only x requires grad: another signature
        np.testing.assert_allclose(gx.numpy(), expect[0].numpy(), rtol=1e-5, atol=1e-6)
        assert not f(x, w).requires_grad  # no input requires grad: no Node
    assert f.trace_count == 3
    assert any(len(k) == 6 and k[2] and not k[5] for k in f._fast)  # (shape, dtype, requires_grad) per argument


@pytest.mark.parametrize("backend", BACKENDS)
def test_second_order_through_the_fast_path(backend):
    f = tg.jit(lambda x: (x ** 3).sum(), backend=backend)
    x = _t(4, seed=3)
    for _ in range(3):
        np.testing.assert_allclose(tg.grad(lambda x: tg.grad(f)(x).sum())(x).numpy(), 6 * x.numpy(), rtol=1e-5)
