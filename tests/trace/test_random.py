"""Random draws inside tg.jit / tg.function: the random_bits primitive and the captured key state."""

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.errors import TraceError
from tapegrad.ops.creation import RNG
from tapegrad.primitives import PRIMITIVES, bind


def test_jitted_rand_differs_between_calls():
    f = tg.jit(lambda x: x + tg.rand(3))
    x = tg.zeros(3)
    a, b = f(x).numpy(), f(x).numpy()
    assert f.trace_count == 1
    assert not np.allclose(a, b)
    assert ((a >= 0) & (a < 1)).all() and ((b >= 0) & (b < 1)).all()


def test_function_randn_differs_between_calls_and_is_in_the_graph():
    @tg.function
    def f(x):
        return x * tg.randn(2, 3)

    x = tg.ones(2, 3)
    a, b = f(x).numpy(), f(x).numpy()
    assert not np.allclose(a, b)
    assert "random_bits" in str(f.lower(x))


def test_jitted_dropout_changes_its_mask():
    f = tg.jit(lambda x: tg.nn.functional.dropout(x, 0.5, training=True))
    x = tg.ones(64)
    masks = [(f(x).numpy() != 0) for _ in range(4)]
    assert f.trace_count == 1
    assert len({m.tobytes() for m in masks}) == 4
    out = f(x).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0}


def test_jitted_dropout_module_with_backward():
    tg.manual_seed(1)
    model = tg.nn.Sequential(tg.nn.Linear(8, 8), tg.nn.Dropout(0.5))
    f = tg.jit(lambda x: model(x).sum())
    x = tg.ones(4, 8)
    losses = []
    for _ in range(3):
        model.zero_grad()
        loss = f(x)
        loss.backward()
        losses.append(loss.item())
        assert model[0].weight.grad is not None
    assert len(set(losses)) == 3


def test_two_draws_in_one_trace_differ():
    f = tg.jit(lambda: (tg.rand(5), tg.rand(5)))
    a, b = f()
    assert not np.allclose(a.numpy(), b.numpy())


def test_manual_seed_makes_compiled_calls_reproducible():
    f = tg.jit(lambda x: x + tg.randn(4))
    x = tg.zeros(4)
    tg.manual_seed(123)
    first = [f(x).numpy() for _ in range(3)]
    tg.manual_seed(123)
    second = [f(x).numpy() for _ in range(3)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first[0], first[1])


def test_manual_seed_reproducible_across_functions_traced_after_it():
    tg.manual_seed(5)
    a = tg.jit(lambda: tg.rand(3))().numpy()
    tg.manual_seed(5)
    b = tg.jit(lambda: tg.rand(3))().numpy()
    np.testing.assert_array_equal(a, b)


def test_eager_draws_unchanged():
    tg.manual_seed(0)
    expect = np.random.default_rng(0)
    np.testing.assert_array_equal(tg.rand(3).numpy(), expect.random((3,)).astype(np.float32))
    np.testing.assert_array_equal(tg.randn(2, 2).numpy(), expect.standard_normal((2, 2)).astype(np.float32))
    key = RNG.key.item()
    tg.rand(3)
    assert RNG.key.item() == key  # eager draws do not touch the traced key


def test_explicit_generator_stays_a_trace_time_constant():
    g = np.random.default_rng(0)
    f = tg.jit(lambda: tg.rand(3, generator=g))
    np.testing.assert_array_equal(f().numpy(), f().numpy())


def test_traced_normal_with_tensor_mean():
    f = tg.jit(lambda m: tg.normal(m, 0.1))
    m = tg.full((1000,), 5.0)
    a, b = f(m).numpy(), f(m).numpy()
    assert not np.allclose(a, b)
    assert abs(a.mean() - 5.0) < 0.05 and a.dtype == np.float32


def test_random_bits_is_deterministic_and_not_differentiable():
    prim = PRIMITIVES["random_bits"]
    k = tg.tensor(42)
    params = dict(shape=(3,), dtype=tg.float32, distribution="normal")
    a, b = bind(prim, k, **params), bind(prim, k, **params)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not a.requires_grad
    assert not np.allclose(a.numpy(), bind(prim, tg.tensor(43), **params).numpy())


def test_random_bits_vmap_over_keys():
    prim = PRIMITIVES["random_bits"]
    params = dict(shape=(2,), dtype=tg.float64, distribution="uniform")
    keys = tg.tensor([1, 2, 3])
    out = tg.vmap(lambda k: bind(prim, k, **params))(keys)
    assert out.shape == (3, 2)
    for i in range(3):
        np.testing.assert_array_equal(out[i].numpy(), bind(prim, keys[i], **params).numpy())


def test_rand_in_loop_body_gives_a_clear_error():
    def f(x):
        return tg.while_loop(lambda c: c.sum() < 10, lambda c: c + tg.rand(3), x)

    with pytest.raises(TraceError, match="random draws inside a loop body"):
        tg.jit(f)(tg.zeros(3))


def test_checkpoint_inside_jit_replays_the_same_mask():
    lin = tg.nn.Linear(16, 16)
    x = tg.ones(2, 16)

    def block(h):
        return tg.nn.functional.dropout(lin(h), 0.5, training=True)

    def grads(fn):
        tg.manual_seed(7)
        f = tg.jit(fn)
        out = []
        for _ in range(2):
            lin.zero_grad()
            f(x).backward()
            out.append(lin.weight.grad.numpy().copy())
        return out

    plain = grads(lambda x: (block(x) * x.sum()).sum())
    remat = grads(lambda x: (tg.func.checkpoint(block)(x) * x.sum()).sum())
    for a, b in zip(plain, remat):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(plain[0], plain[1])
