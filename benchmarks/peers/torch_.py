"""The workloads in PyTorch: eager, and `torch.compile` (default mode, inductor) of the same step function.

torch.compile gets the whole step, backward and optimizer update included; AOTAutograd then compiles the
forward and backward graphs, and the optimizer step is compiled as its own graph.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from benchmarks.workloads import chain, scalar_chain

NAME = "torch"
PIP = 'pip install "torch==2.13.0"'
VARIANTS = {"torch eager": "eager", "torch.compile": "compile"}

# dynamo warns, once per compiled optimizer step, that it drops a profiler annotation: noise in the table
torch._logging.set_logs(dynamo=logging.ERROR)


def version() -> str:
    blas = next((part.split("=", 1)[1] for part in torch.__config__.show().replace(",", "\n").split()
                 if part.startswith("BLAS_INFO=")), "unknown")
    return f"{torch.__version__} ({torch.get_num_threads()} threads, BLAS {blas})"


def to_numpy(out) -> np.ndarray:
    return out.detach().numpy() if isinstance(out, torch.Tensor) else np.asarray(out)


def _compiled(fn, variant):
    return torch.compile(fn) if variant == "compile" else fn


def _sgd_step(model, lr, x, y, variant):
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def step(x, y):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.detach()

    fn = _compiled(step, variant)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    return lambda: fn(tx, ty)


def _load(model, arrays: dict):
    model.load_state_dict({k: torch.tensor(v) for k, v in arrays.items()})
    return model


def w1(data, variant):
    nn = torch.nn
    (w0, b0), (w1_, b1), (w2, b2) = data["layers"]
    model = nn.Sequential(nn.Linear(*w0.shape[::-1]), nn.ReLU(), nn.Linear(*w1_.shape[::-1]), nn.ReLU(),
                          nn.Linear(*w2.shape[::-1]))
    _load(model, {"0.weight": w0, "0.bias": b0, "2.weight": w1_, "2.bias": b1, "4.weight": w2, "4.bias": b2})
    return _sgd_step(model, data["lr"], data["x"], data["y"], variant)


def w2(data, variant):
    nn = torch.nn
    (k1, c1), (k2, c2), (wl, bl) = data["conv1"], data["conv2"], data["linear"]
    model = nn.Sequential(nn.Conv2d(1, k1.shape[0], 3), nn.ReLU(), nn.Conv2d(k1.shape[0], k2.shape[0], 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(wl.shape[1], wl.shape[0]))
    _load(model, {"0.weight": k1, "0.bias": c1, "2.weight": k2, "2.bias": c2, "6.weight": wl, "6.bias": bl})
    return _sgd_step(model, data["lr"], data["x"], data["y"], variant)


def _value_and_grad(f):
    """torch.autograd.grad rather than .backward(): no .grad to accumulate into or zero between runs."""

    def fn(x, *rest):
        x = x.detach().requires_grad_()
        loss = f(x, *rest)
        (grad,) = torch.autograd.grad(loss, x)
        return loss.detach(), grad

    return fn


def _grad(f):
    """x -> df/dx alone (W3)."""

    def fn(x):
        x = x.detach().requires_grad_()
        (grad,) = torch.autograd.grad(f(x), x)
        return grad

    return fn


def _gelu_sigmoid_sum(x):
    return (torch.nn.functional.gelu(1.5 * x + 0.5, approximate="tanh") * torch.sigmoid(x)).sum()


def w3(data, variant):
    fn = _compiled(_grad(_gelu_sigmoid_sum), variant)
    x = torch.from_numpy(data["x"])
    return lambda: fn(x)


def w4(data, variant):
    ops = data["ops"]
    fn = _compiled(_value_and_grad(lambda x, a, b: chain(x, a, b, ops)), variant)
    x, a, b = (torch.from_numpy(data[k]) for k in ("x", "a", "b"))
    return lambda: fn(x, a, b)


def w5(data, variant):
    fn = _compiled(lambda a, b: a @ b, variant)
    a, b = torch.from_numpy(data["a"]), torch.from_numpy(data["b"])
    return lambda: fn(a, b)


def w6(data, variant):
    def hvp(w, x, v):
        def f(x):
            return (torch.tanh(w @ x) ** 2).sum()

        return torch.func.jvp(torch.func.grad(f), (x,), (v,))[1]

    fn = _compiled(hvp, variant)
    w, x, v = (torch.from_numpy(data[k]) for k in ("w", "x", "v"))
    return lambda: fn(w, x, v)


def w7(data, variant):
    ops = data["ops"]
    fn = _compiled(_value_and_grad(lambda x: scalar_chain(x, ops, torch.tanh)), variant)
    x = torch.from_numpy(data["x"])
    return lambda: fn(x)
