"""The compare tasks written in tapegrad, each in the idiom a tapegrad user would pick for it.

Each task function takes the numpy inputs, sets up, and returns `run`, the zero-argument step that is timed.
Lines of user code are counted from these functions' source (runner.count_lines).
"""

import numpy as np

import tapegrad as tg

from .tasks import MLP_SIZES, caught

NAME = "tapegrad"
MODULE = "tapegrad"
PIP = "pip install tapegrad"
UNSUPPORTED: dict = {}


def version() -> str:
    return tg.__version__


def to_numpy(out):
    return np.asarray(out.numpy() if hasattr(out, "numpy") else out)


def arithmetic(inp):
    def run():
        x = tg.constant(inp["x"])
        return tg.reshape(x + 1, [4])

    return run


def graph_function(inp):
    @tg.function
    def f(x):
        return tg.reduce_sum(tg.matmul(x, x))

    x = tg.constant(inp["x"])

    def run():
        return f(x)

    return run


def linear_tape(inp):
    W, b = tg.Variable(inp["W"]), tg.Variable(inp["b"])
    x = tg.constant(inp["x"])

    def run():
        with tg.GradientTape() as tape:
            predictions = tg.matmul(x, W) + b
        return tape.gradient(predictions, [W, b])

    return run


def clip_gradients(inp):
    W, b = tg.Variable(inp["W"]), tg.Variable(inp["b"])
    x = tg.constant(inp["x"])

    def run():
        with tg.GradientTape() as tape:
            predictions = tg.matmul(x, W) + b
        grads = tape.gradient(predictions, [W, b])
        return [tg.clip_by_value(g, -0.1, 0.1) for g in grads if g is not None]

    return run


def while_loop_grad(inp):
    n = int(inp["n"])
    x = tg.Variable(inp["x"])

    def run():
        with tg.GradientTape() as tape:
            _, y = tg.while_loop(lambda i, acc: i < n, lambda i, acc: (i + 1, acc * x), (tg.constant(0), tg.constant(1.0)))
        return tape.gradient(y, x)

    return run


def custom_gradient(inp):
    @tg.custom_gradient
    def square(x):
        def grad(dy):
            return dy * x

        return x * x, grad

    x = tg.Variable(inp["x"])

    def run():
        with tg.GradientTape() as tape:
            y = square(x)
        return tape.gradient(y, x)

    return run


def hessian(inp):
    def f(x):
        return (tg.sin(x) * x**2).sum() + x.sum() ** 2 / 2

    x = tg.tensor(inp["x"])

    def run():
        return tg.func.hessian(f)(x)

    return run


def jvp(inp):
    W, x, v = (tg.tensor(inp[k]) for k in ("W", "x", "v"))

    def run():
        _, tangent = tg.jvp(lambda x: tg.tanh(W @ x), (x,), (v,))
        return tangent

    return run


def jacobian(inp):
    W, x = tg.tensor(inp["W"]), tg.tensor(inp["x"])

    def run():
        return tg.func.jacrev(lambda x: tg.tanh(W @ x))(x)

    return run


def per_example_grads(inp):
    X, y, w = (tg.tensor(inp[k]) for k in ("X", "y", "w"))

    def loss(w, xi, yi):
        return (tg.tanh(xi @ w) - yi) ** 2

    def run():
        return tg.vmap(tg.grad(loss), in_axes=(None, 0, 0))(w, X, y)

    return run


def dynamic_loop(inp):
    @tg.function
    def f(x):
        return tg.while_loop(lambda x: x < 10.0, lambda x: (x * 1.5,), (x,))[0]

    x = tg.tensor(inp["x"])

    def run():
        return tg.grad(f)(x)

    return run


def inplace_update(inp):
    def run():
        x = tg.tensor(inp["x"], requires_grad=True)
        y = tg.sigmoid(x)  # saves its output for the backward pass
        y.mul_(2)
        try:
            y.sum().backward()
        except RuntimeError as e:
            return caught(e)
        return x.grad

    return run


def mlp_step(inp):
    d, h, c = MLP_SIZES
    model = tg.nn.Sequential(tg.nn.Linear(d, h), tg.nn.ReLU(), tg.nn.Linear(h, c))
    with tg.no_grad():
        model[0].weight.copy_(tg.tensor(inp["W1"].T))
        model[0].bias.copy_(tg.tensor(inp["b1"]))
        model[2].weight.copy_(tg.tensor(inp["W2"].T))
        model[2].bias.copy_(tg.tensor(inp["b2"]))
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    X, y = tg.tensor(inp["X"]), tg.tensor(inp["y"])

    def run():
        opt.zero_grad()
        loss = tg.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        grads = [model[0].weight.grad.T, model[0].bias.grad, model[2].weight.grad.T, model[2].bias.grad]
        grads = [g.clone() for g in grads]
        opt.step()
        return grads

    return run


def fused_chain(inp):
    grad_chain = tg.jit(tg.grad(lambda x: (tg.tanh(1.5 * x + 0.5) * tg.sigmoid(x) - 0.1 * x**2).sum()))
    x = tg.tensor(inp["x"])

    def run():
        return grad_chain(x)

    return run
