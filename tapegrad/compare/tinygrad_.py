"""The compare tasks in tinygrad's idiom: lazy Tensors, .backward(), TinyJit; no transforms, no forward mode."""

import numpy as np
from tinygrad import Tensor, TinyJit

from .tasks import caught

NAME = "tinygrad"
MODULE = "tinygrad"
PIP = "pip install tinygrad"
UNSUPPORTED = {
    "custom_gradient": "tinygrad has no public custom-gradient API",
    "hessian": "tinygrad's backward pass is not differentiable again (no create_graph)",
    "jvp": "tinygrad has no forward mode",
    "per_example_grads": "tinygrad has no vmap; a Python loop of backward passes is the only way",
}


def version() -> str:
    import importlib.metadata

    return importlib.metadata.version("tinygrad")


def to_numpy(out):
    return out.numpy() if isinstance(out, Tensor) else np.asarray(out)


def arithmetic(inp):
    def run():
        x = Tensor(inp["x"])
        return (x + 1).reshape(4).realize()

    return run


def graph_function(inp):
    @TinyJit
    def f(x):
        return (x @ x).sum().realize()

    def run():
        return f(Tensor(inp["x"]))

    return run


def linear_tape(inp):
    W = Tensor(inp["W"])
    b = Tensor(inp["b"])
    x = Tensor(inp["x"])

    def run():
        dW, db = (x @ W + b).sum().gradient(W, b)
        return [dW.realize(), db.realize()]

    return run


def clip_gradients(inp):
    W = Tensor(inp["W"])
    b = Tensor(inp["b"])
    x = Tensor(inp["x"])

    def run():
        grads = (x @ W + b).sum().gradient(W, b)
        return [g.clip(-0.1, 0.1).realize() for g in grads]

    return run


def while_loop_grad(inp):
    n = int(inp["n"])
    x = Tensor(inp["x"])

    def run():
        i, acc = 0, Tensor(1.0)
        while i < n:
            i, acc = i + 1, acc * x
        return acc.gradient(x)[0].realize()

    return run


def jacobian(inp):
    W, xv = Tensor(inp["W"]), inp["x"]

    def run():
        rows = []
        for i in range(3):  # one backward pass per output
            x = Tensor(xv)
            rows.append((W @ x).tanh()[i].gradient(x)[0].numpy())
        return np.stack(rows)

    return run


def dynamic_loop(inp):
    x = Tensor(inp["x"])

    def run():
        y = x
        while y.item() < 10.0:  # a lazy value must be realized to steer Python
            y = y * 1.5
        return y.gradient(x)[0].realize()

    return run


def inplace_update(inp):
    def run():
        x = Tensor(inp["x"])
        y = x.sigmoid()
        try:
            y.assign(y * 2)
            return y.sum().gradient(x)[0].realize()
        except Exception as e:
            return caught(e)

    return run


def mlp_step(inp):
    params = [Tensor(inp[k]) for k in ("W1", "b1", "W2", "b2")]
    X, y = Tensor(inp["X"]), Tensor(inp["y"].astype(np.int32))

    def run():
        W1, b1, W2, b2 = params
        loss = ((X @ W1 + b1).relu() @ W2 + b2).sparse_categorical_crossentropy(y)
        grads = [g.realize() for g in loss.gradient(*params)]  # NOTE: realize before assign changes params
        for p, g in zip(params, grads):
            p.assign(p - 0.1 * g).realize()
        return grads

    return run


def fused_chain(inp):
    x = Tensor(inp["x"])

    def run():
        y = ((1.5 * x + 0.5).tanh() * x.sigmoid() - 0.1 * x**2).sum()
        return y.gradient(x)[0].realize()

    return run
