"""The workloads in JAX: pure functions under `jax.jit`, parameters as pytrees, the update returned rather
than applied in place (with the old parameters donated, as a JAX training loop does)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.workloads import chain, scalar_chain

NAME = "jax"
PIP = 'pip install "jax[cpu]"'
VARIANTS = {"jax.jit": "jit"}


def version() -> str:
    return f"{jax.__version__} ({jax.default_backend()})"


def to_numpy(out) -> np.ndarray:
    return np.asarray(out)


def _cross_entropy(logits, y):
    return jnp.mean(jax.nn.logsumexp(logits, axis=1) - jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0])


def _training_step(loss_fn, params, x, y, lr):
    """jit of one SGD step; the runner keeps the parameters it returns for the next call."""

    def step(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), loss

    step = jax.jit(step, donate_argnums=0)
    # jnp.array copies: the donated buffers must not alias the numpy inputs the other frameworks share
    state = {"params": jax.tree_util.tree_map(jnp.array, params)}
    x, y = jnp.asarray(x), jnp.asarray(y)

    def run():
        state["params"], loss = step(state["params"], x, y)
        return jax.block_until_ready(loss)

    return run


def w1(data, variant):
    params = [(w.T.copy(), b) for w, b in data["layers"]]  # x @ W: (in, out)

    def loss_fn(params, x, y):
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < len(params) - 1:
                h = jax.nn.relu(h)
        return _cross_entropy(h, y)

    return _training_step(loss_fn, params, data["x"], data["y"], data["lr"])


def _conv(x, w, b):
    out = jax.lax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return out + b[None, :, None, None]


def w2(data, variant):
    params = {"conv1": data["conv1"], "conv2": data["conv2"], "linear": (data["linear"][0].T.copy(), data["linear"][1])}

    def loss_fn(p, x, y):
        h = jax.nn.relu(_conv(x, *p["conv1"]))
        h = jax.nn.relu(_conv(h, *p["conv2"]))
        h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        w, b = p["linear"]
        return _cross_entropy(h.reshape(h.shape[0], -1) @ w + b, y)

    return _training_step(loss_fn, params, data["x"], data["y"], data["lr"])


def _gelu_sigmoid_sum(x):
    return jnp.sum(jax.nn.gelu(1.5 * x + 0.5, approximate=True) * jax.nn.sigmoid(x))


def w3(data, variant):
    fn = jax.jit(jax.grad(_gelu_sigmoid_sum))
    x = jnp.asarray(data["x"])
    return lambda: jax.block_until_ready(fn(x))


def w4(data, variant):
    ops = data["ops"]
    fn = jax.jit(jax.value_and_grad(lambda x, a, b: chain(x, a, b, ops)))
    x, a, b = (jnp.asarray(data[k]) for k in ("x", "a", "b"))
    return lambda: jax.block_until_ready(fn(x, a, b))


def w5(data, variant):
    fn = jax.jit(jnp.matmul)
    a, b = jnp.asarray(data["a"]), jnp.asarray(data["b"])
    return lambda: fn(a, b).block_until_ready()


def w6(data, variant):
    def hvp(w, x, v):
        def f(x):
            return jnp.sum(jnp.tanh(w @ x) ** 2)

        return jax.jvp(jax.grad(f), (x,), (v,))[1]

    fn = jax.jit(hvp)
    w, x, v = (jnp.asarray(data[k]) for k in ("w", "x", "v"))
    return lambda: fn(w, x, v).block_until_ready()


def w7(data, variant):
    ops = data["ops"]
    fn = jax.jit(jax.value_and_grad(lambda x: scalar_chain(x, ops, jnp.tanh, total=jnp.sum)))
    x = jnp.asarray(data["x"])
    return lambda: jax.block_until_ready(fn(x))
