"""The compare tasks written in PyTorch's idiom: define-by-run, .backward(), torch.func for transforms.

Imported only when `tapegrad compare` runs PyTorch; each task function returns the timed `run` step.
"""

import numpy as np
import torch

from .tasks import MLP_SIZES, caught

NAME = "torch"
MODULE = "torch"
PIP = "pip install torch"
UNSUPPORTED: dict = {}


def version() -> str:
    return torch.__version__


def to_numpy(out):
    return out.detach().numpy() if isinstance(out, torch.Tensor) else np.asarray(out)


def arithmetic(inp):
    def run():
        x = torch.tensor(inp["x"])
        return (x + 1).reshape(4)

    return run


def graph_function(inp):
    # PyTorch's graph mode is torch.compile; the traced graph of a TorchScript function is the light one.
    @torch.jit.script
    def f(x):
        return torch.sum(torch.matmul(x, x))

    x = torch.tensor(inp["x"])

    def run():
        return f(x)

    return run


def linear_tape(inp):
    W = torch.tensor(inp["W"], requires_grad=True)
    b = torch.tensor(inp["b"], requires_grad=True)
    x = torch.tensor(inp["x"])

    def run():
        predictions = x @ W + b
        return torch.autograd.grad(predictions.sum(), [W, b])

    return run


def clip_gradients(inp):
    W = torch.tensor(inp["W"], requires_grad=True)
    b = torch.tensor(inp["b"], requires_grad=True)
    x = torch.tensor(inp["x"])

    def run():
        W.grad = b.grad = None
        (x @ W + b).sum().backward()
        torch.nn.utils.clip_grad_value_([W, b], 0.1)
        return [W.grad, b.grad]

    return run


def while_loop_grad(inp):
    n = int(inp["n"])
    x = torch.tensor(inp["x"], requires_grad=True)

    def run():
        i, acc = 0, torch.tensor(1.0)
        while i < n:
            i, acc = i + 1, acc * x
        return torch.autograd.grad(acc, x)[0]

    return run


def custom_gradient(inp):
    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, dy):
            (x,) = ctx.saved_tensors
            return dy * x

    x = torch.tensor(inp["x"], requires_grad=True)

    def run():
        return torch.autograd.grad(Square.apply(x), x)[0]

    return run


def hessian(inp):
    def f(x):
        return (torch.sin(x) * x**2).sum() + x.sum() ** 2 / 2

    x = torch.tensor(inp["x"])

    def run():
        return torch.func.hessian(f)(x)

    return run


def jvp(inp):
    W, x, v = (torch.tensor(inp[k]) for k in ("W", "x", "v"))

    def run():
        _, tangent = torch.func.jvp(lambda x: torch.tanh(W @ x), (x,), (v,))
        return tangent

    return run


def jacobian(inp):
    W, x = torch.tensor(inp["W"]), torch.tensor(inp["x"])

    def run():
        return torch.func.jacrev(lambda x: torch.tanh(W @ x))(x)

    return run


def per_example_grads(inp):
    X, y, w = (torch.tensor(inp[k]) for k in ("X", "y", "w"))

    def loss(w, xi, yi):
        return (torch.tanh(xi @ w) - yi) ** 2

    def run():
        return torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))(w, X, y)

    return run


def dynamic_loop(inp):
    x = torch.tensor(inp["x"], requires_grad=True)

    def run():
        y = x
        while y < 10.0:  # define-by-run: the loop is plain Python, its trip count read from the value
            y = y * 1.5
        return torch.autograd.grad(y, x)[0]

    return run


def inplace_update(inp):
    def run():
        x = torch.tensor(inp["x"], requires_grad=True)
        y = torch.sigmoid(x)  # saves its output for the backward pass
        y.mul_(2)
        try:
            y.sum().backward()
        except RuntimeError as e:
            return caught(e)
        return x.grad

    return run


def mlp_step(inp):
    d, h, c = MLP_SIZES
    model = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.ReLU(), torch.nn.Linear(h, c))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor(inp["W1"].T))
        model[0].bias.copy_(torch.tensor(inp["b1"]))
        model[2].weight.copy_(torch.tensor(inp["W2"].T))
        model[2].bias.copy_(torch.tensor(inp["b2"]))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    X, y = torch.tensor(inp["X"]), torch.tensor(inp["y"])

    def run():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        grads = [model[0].weight.grad.T, model[0].bias.grad, model[2].weight.grad.T, model[2].bias.grad]
        grads = [g.clone() for g in grads]
        opt.step()
        return grads

    return run


def fused_chain(inp):
    # Eager PyTorch: torch.compile would fuse this too, but needs a C++ toolchain and ~20 s to compile.
    x = torch.tensor(inp["x"], requires_grad=True)

    def run():
        y = (torch.tanh(1.5 * x + 0.5) * torch.sigmoid(x) - 0.1 * x**2).sum()
        return torch.autograd.grad(y, x)[0]

    return run
