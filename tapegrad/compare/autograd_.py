"""The compare tasks in HIPS autograd's idiom: numpy code, differentiated by `grad` / `jacobian` / `hessian`."""

import autograd
import autograd.numpy as anp
import numpy as np
from autograd.extend import defvjp, primitive

from .tasks import MLP_SIZES  # noqa: F401  (same sizes as every adapter; the inputs carry them)

NAME = "autograd"
MODULE = "autograd"
PIP = "pip install autograd"
UNSUPPORTED = {
    "graph_function": "autograd has no graph mode: it traces every call anew",
    "inplace_update": "autograd.numpy arrays cannot be changed in place under differentiation (assignment "
    "into a traced array is refused), so the idiom is out-of-place code",
}


def version() -> str:
    return getattr(autograd, "__version__", "?")


def to_numpy(out):
    return np.asarray(out)


def arithmetic(inp):
    def run():
        x = anp.array(inp["x"])
        return anp.reshape(x + 1, (4,))

    return run


def linear_tape(inp):
    W, b, x = inp["W"], inp["b"], inp["x"]

    def run():
        return autograd.grad(lambda p: anp.sum(anp.dot(x, p[0]) + p[1]))((W, b))

    return run


def clip_gradients(inp):
    W, b, x = inp["W"], inp["b"], inp["x"]

    def run():
        grads = autograd.grad(lambda p: anp.sum(anp.dot(x, p[0]) + p[1]))((W, b))
        return [anp.clip(g, -0.1, 0.1) for g in grads]

    return run


def while_loop_grad(inp):
    n, x = int(inp["n"]), float(inp["x"])

    def power(x):
        i, acc = 0, 1.0
        while i < n:
            i, acc = i + 1, acc * x
        return acc

    def run():
        return autograd.grad(power)(x)

    return run


def custom_gradient(inp):
    @primitive
    def square(x):
        return x * x

    defvjp(square, lambda ans, x: lambda dy: dy * x)
    x = float(inp["x"])

    def run():
        return autograd.grad(square)(x)

    return run


def hessian(inp):
    def f(x):
        return anp.sum(anp.sin(x) * x**2) + anp.sum(x) ** 2 / 2

    x = inp["x"].astype(np.float64)

    def run():
        return autograd.hessian(f)(x)

    return run


def jvp(inp):
    W, x, v = inp["W"], inp["x"], inp["v"]

    def run():
        return autograd.make_jvp(lambda x: anp.tanh(anp.dot(W, x)))(x)(v)[1]

    return run


def jacobian(inp):
    W, x = inp["W"], inp["x"]

    def run():
        return autograd.jacobian(lambda x: anp.tanh(anp.dot(W, x)))(x)

    return run


def per_example_grads(inp):
    X, y, w = inp["X"], inp["y"], inp["w"]

    def loss(w, xi, yi):
        return (anp.tanh(anp.dot(xi, w)) - yi) ** 2

    def run():
        return np.stack([autograd.grad(loss)(w, xi, yi) for xi, yi in zip(X, y)])

    return run


def dynamic_loop(inp):
    def f(x):
        while x < 10.0:
            x = x * 1.5
        return x

    x = float(inp["x"])

    def run():
        return autograd.grad(f)(x)

    return run


def mlp_step(inp):
    params = [inp[k] for k in ("W1", "b1", "W2", "b2")]
    X, y = inp["X"], inp["y"]

    def loss(params):
        W1, b1, W2, b2 = params
        z = anp.dot(anp.maximum(anp.dot(X, W1) + b1, 0), W2) + b2
        logp = z - anp.log(anp.sum(anp.exp(z - anp.max(z, axis=1, keepdims=True)), axis=1, keepdims=True)) \
            - anp.max(z, axis=1, keepdims=True)
        return -anp.mean(logp[anp.arange(len(y)), y])

    def run():
        nonlocal params
        grads = autograd.grad(loss)(params)
        params = [p - 0.1 * g for p, g in zip(params, grads)]
        return grads

    return run


def fused_chain(inp):
    def f(x):
        return anp.sum(anp.tanh(1.5 * x + 0.5) / (1 + anp.exp(-x)) - 0.1 * x**2)

    x = inp["x"]

    def run():
        return autograd.grad(f)(x)

    return run
