"""The compare tasks in JAX's idiom: pure functions, grad / jvp / vmap / jit transforms, lax control flow."""

import jax
import jax.numpy as jnp
import numpy as np

from .tasks import MLP_SIZES

NAME = "jax"
MODULE = "jax"
PIP = "pip install jax jaxlib"
UNSUPPORTED = {"inplace_update": "JAX arrays are immutable: x.at[i].set(v) returns a new array, so nothing can "
               "change a value saved for the backward pass"}


def version() -> str:
    return jax.__version__


def to_numpy(out):
    return np.asarray(out)


def arithmetic(inp):
    def run():
        x = jnp.asarray(inp["x"])
        return jnp.reshape(x + 1, (4,)).block_until_ready()

    return run


def graph_function(inp):
    f = jax.jit(lambda x: jnp.sum(x @ x))
    x = jnp.asarray(inp["x"])

    def run():
        return f(x).block_until_ready()

    return run


def linear_tape(inp):
    W, b, x = (jnp.asarray(inp[k]) for k in ("W", "b", "x"))

    def run():
        return jax.grad(lambda W, b: jnp.sum(x @ W + b), argnums=(0, 1))(W, b)

    return run


def clip_gradients(inp):
    W, b, x = (jnp.asarray(inp[k]) for k in ("W", "b", "x"))

    def run():
        grads = jax.grad(lambda W, b: jnp.sum(x @ W + b), argnums=(0, 1))(W, b)
        return [jnp.clip(g, -0.1, 0.1) for g in grads]

    return run


def while_loop_grad(inp):
    n = int(inp["n"])
    x = jnp.asarray(inp["x"])

    def power(x):
        return jax.lax.fori_loop(0, n, lambda i, acc: acc * x, 1.0)

    def run():
        return jax.grad(power)(x)

    return run


def custom_gradient(inp):
    @jax.custom_vjp
    def square(x):
        return x * x

    square.defvjp(lambda x: (x * x, x), lambda x, dy: (dy * x,))
    x = jnp.asarray(inp["x"])

    def run():
        return jax.grad(square)(x)

    return run


def hessian(inp):
    def f(x):
        return jnp.sum(jnp.sin(x) * x**2) + jnp.sum(x) ** 2 / 2

    x = jnp.asarray(inp["x"])

    def run():
        return jax.hessian(f)(x)

    return run


def jvp(inp):
    W, x, v = (jnp.asarray(inp[k]) for k in ("W", "x", "v"))

    def run():
        _, tangent = jax.jvp(lambda x: jnp.tanh(W @ x), (x,), (v,))
        return tangent

    return run


def jacobian(inp):
    W, x = jnp.asarray(inp["W"]), jnp.asarray(inp["x"])

    def run():
        return jax.jacrev(lambda x: jnp.tanh(W @ x))(x)

    return run


def per_example_grads(inp):
    X, y, w = (jnp.asarray(inp[k]) for k in ("X", "y", "w"))

    def loss(w, xi, yi):
        return (jnp.tanh(xi @ w) - yi) ** 2

    def run():
        return jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(w, X, y)

    return run


def dynamic_loop(inp):
    # Compiled, the trip count is data-dependent: lax.while_loop, which reverse mode cannot differentiate.
    @jax.jit
    def f(x):
        return jax.lax.while_loop(lambda x: x < 10.0, lambda x: x * 1.5, x)

    x = jnp.asarray(inp["x"])

    def run():
        return jax.grad(f)(x)

    return run


def mlp_step(inp):
    params = [jnp.asarray(inp[k]) for k in ("W1", "b1", "W2", "b2")]
    X, y = jnp.asarray(inp["X"]), jnp.asarray(inp["y"])

    def loss(params):
        W1, b1, W2, b2 = params
        logits = jax.nn.relu(X @ W1 + b1) @ W2 + b2
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))

    @jax.jit
    def step(params):
        grads = jax.grad(loss)(params)
        return [p - 0.1 * g for p, g in zip(params, grads)], grads

    def run():
        nonlocal params
        params, grads = step(params)
        return grads

    return run


def fused_chain(inp):
    grad_chain = jax.jit(jax.grad(lambda x: jnp.sum(jnp.tanh(1.5 * x + 0.5) * jax.nn.sigmoid(x) - 0.1 * x**2)))
    x = jnp.asarray(inp["x"])

    def run():
        return grad_chain(x).block_until_ready()

    return run
