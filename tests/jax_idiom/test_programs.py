"""Short JAX programs, written as JAX code is (imports aside), that run unchanged on tapegrad."""

import numpy as np

import tapegrad.func as jax
import tapegrad.numpy as jnp
from tapegrad import random


def test_quickstart_selu_and_grad():
    def selu(x, alpha=1.67, lmbda=1.05):
        return lmbda * jnp.where(x > 0, x, alpha * jnp.exp(x) - alpha)

    x = jnp.arange(5.0)
    assert jnp.allclose(jax.jit(selu)(x), selu(x))

    def sum_logistic(x):
        return jnp.sum(1.0 / (1.0 + jnp.exp(-x)))

    x_small = jnp.arange(3.0)
    derivative_fn = jax.grad(sum_logistic)
    s = 1 / (1 + np.exp(-np.arange(3.0)))
    assert jnp.allclose(derivative_fn(x_small), s * (1 - s))


def test_autodiff_cookbook_tanh_and_linear_model():
    assert abs(float(jax.grad(jnp.tanh)(2.0)) - (1 - np.tanh(2.0) ** 2)) < 1e-6
    key = random.key(0)

    def predict(W, b, inputs):
        return 0.5 * (jnp.tanh((jnp.dot(inputs, W) + b) / 2) + 1)

    inputs = jnp.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]])
    targets = jnp.array([True, True, False, True])

    def loss(W, b):
        preds = predict(W, b, inputs)
        label_probs = preds * targets + (1 - preds) * (1 - targets)
        return -jnp.sum(jnp.log(label_probs))

    key, W_key, b_key = random.split(key, 3)
    W = random.normal(W_key, (3,))
    b = random.normal(b_key, ())
    W_grad, b_grad = jax.grad(loss, (0, 1))(W, b)
    assert W_grad.shape == (3,) and b_grad.shape == ()
    jax.test_util.check_grads(loss, (W.astype(jnp.float64), b.astype(jnp.float64)), order=2)


def test_vmap_guide_convolve():
    x = jnp.arange(5)
    w = jnp.array([2.0, 3.0, 4.0])

    def convolve(x, w):
        output = []
        for i in range(1, len(x) - 1):
            output.append(jnp.dot(x[i - 1:i + 2], w))
        return jnp.array(output)

    xs, ws = jnp.stack([x, x]), jnp.stack([w, w])
    assert jax.vmap(convolve)(xs, ws).tolist() == [[11.0, 20.0, 29.0]] * 2
    assert jax.jit(jax.vmap(convolve))(xs, ws).tolist() == [[11.0, 20.0, 29.0]] * 2


def test_custom_jvp_defjvps_and_custom_vjp():
    @jax.custom_jvp
    def f(x, y):
        return jnp.sin(x) * y

    f.defjvps(lambda x_dot, primal_out, x, y: jnp.cos(x) * x_dot * y,
              lambda y_dot, primal_out, x, y: jnp.sin(x) * y_dot)
    assert abs(float(jax.grad(f)(2.0, 3.0)) - np.cos(2.0) * 3) < 1e-5
    _, t = jax.jvp(f, (2.0, 3.0), (1.0, 0.0))
    assert abs(float(t) - np.cos(2.0) * 3) < 1e-5

    @jax.custom_vjp
    def clip_gradient(lo, hi, x):
        return x

    clip_gradient.defvjp(lambda lo, hi, x: (x, (lo, hi)),
                         lambda res, g: (None, None, jnp.clip(g, res[0], res[1])))
    assert float(jax.grad(lambda x: clip_gradient(-0.75, 0.75, 3.0 * x))(2.0)) == 2.25  # bwd clips g = 1 to 0.75; d(3x)/dx = 3


def test_random_keys_are_values():
    key = random.PRNGKey(42)
    k1, k2 = random.split(key)
    a = random.normal(k1, (3,))
    assert jnp.array_equal(a, random.normal(k1, (3,)))
    assert not jnp.array_equal(a, random.normal(k2, (3,)))
    assert jnp.array_equal(jax.jit(lambda k: random.normal(k, (3,)))(k1), a)
    batch = jax.vmap(lambda k: random.uniform(k, (2,)))(random.split(key, 4))
    assert batch.shape == (4, 2) and jnp.array_equal(batch[1], random.uniform(random.split(key, 4)[1], (2,)))
    assert jnp.sort(random.permutation(k1, 6)).tolist() == list(range(6))
    assert random.choice(k1, 10, (4,), replace=False).shape == (4,)
    assert random.randint(k2, (100,), 0, 3).max() < 3
    assert not jnp.array_equal(random.fold_in(key, 1), random.fold_in(key, 2))


def test_tree_and_dict_order():
    params = {"w": jnp.ones(2), "b": jnp.zeros(())}
    assert [x.shape for x in jax.tree.leaves(params)] == [(), (2,)]  # sorted keys, as JAX
    doubled = jax.tree.map(lambda p: p * 2, params)
    assert doubled["w"].tolist() == [2.0, 2.0]
    calls = []

    @jax.jit
    def f(p):
        calls.append(1)
        return p["w"] * p["b"]

    f({"w": jnp.ones(2), "b": jnp.ones(())})
    f({"b": jnp.ones(()), "w": jnp.ones(2)})
    assert len(calls) == 1


def test_make_jaxpr_prints_the_graph():
    text = str(jax.make_jaxpr(lambda x: jnp.sin(x) * 2.0)(jnp.ones(3)))
    assert "sin" in text and "mul" in text


def test_mlp_step():
    key = random.key(1)
    k1, k2, k3 = random.split(key, 3)
    params = [(random.normal(k1, (4, 8)) * 0.1, jnp.zeros(8)), (random.normal(k2, (8, 2)) * 0.1, jnp.zeros(2))]
    x, y = random.normal(k3, (16, 4)), jnp.array([0, 1] * 8)

    def loss(params):
        h = x
        for w, b in params[:-1]:
            h = jnp.maximum(0, h @ w + b)
        logits = h @ params[-1][0] + params[-1][1]
        logp = logits - jnp.logsumexp(logits, axis=1, keepdims=True)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    step = jax.jit(lambda p: jax.tree.map(lambda a, g: a - 0.1 * g, p, jax.grad(loss)(p)))
    before = float(loss(params))
    for _ in range(5):
        params = step(params)
    assert float(loss(params)) < before
