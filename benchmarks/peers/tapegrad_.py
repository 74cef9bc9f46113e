"""The workloads in tapegrad: eager, and traced (`tg.function` / `tg.jit`) on the numpy plan and on C.

The traced runners trace the whole forward + backward (+ update) into one graph, as the compiled peers do
(jax.jit of value_and_grad, tf.function around a GradientTape, TinyJit around .backward()).
"""

from __future__ import annotations

import numpy as np

import tapegrad as tg
from benchmarks.workloads import chain, scalar_chain

NAME = "tapegrad"
PIP = "pip install -e ."
VARIANTS = {"tapegrad eager": None, "tapegrad traced numpy": "numpy", "tapegrad traced C": "c"}


def version() -> str:
    return tg.__version__


def to_numpy(out) -> np.ndarray:
    return out.numpy() if isinstance(out, tg.Tensor) else np.asarray(out)


def _compiled(fn, backend, *, stateful=False):
    """fn itself for eager (backend None), else traced for that backend; `stateful` steps (which update captured
    parameters) use tg.function, pure functions tg.jit."""
    if backend is None:
        return fn
    return tg.function(fn, backend=backend) if stateful else tg.jit(fn, backend=backend)


def _sgd_step(model, lr, x, y, backend):
    opt = tg.optim.SGD(model.parameters(), lr=lr)

    def step(x, y):
        opt.zero_grad()
        loss = tg.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    fn = _compiled(step, backend, stateful=True)
    tx, ty = tg.from_numpy(x), tg.from_numpy(y)
    return lambda: fn(tx, ty)


def _load(model, arrays: dict):
    model.load_state_dict({k: tg.tensor(v) for k, v in arrays.items()})
    return model


def w1(data, backend):
    nn = tg.nn
    (w0, b0), (w1_, b1), (w2, b2) = data["layers"]
    model = nn.Sequential(nn.Linear(*w0.shape[::-1]), nn.ReLU(), nn.Linear(*w1_.shape[::-1]), nn.ReLU(),
                          nn.Linear(*w2.shape[::-1]))
    _load(model, {"0.weight": w0, "0.bias": b0, "2.weight": w1_, "2.bias": b1, "4.weight": w2, "4.bias": b2})
    return _sgd_step(model, data["lr"], data["x"], data["y"], backend)


def w2(data, backend):
    nn = tg.nn
    (k1, c1), (k2, c2), (wl, bl) = data["conv1"], data["conv2"], data["linear"]
    model = nn.Sequential(nn.Conv2d(1, k1.shape[0], 3), nn.ReLU(), nn.Conv2d(k1.shape[0], k2.shape[0], 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(wl.shape[1], wl.shape[0]))
    _load(model, {"0.weight": k1, "0.bias": c1, "2.weight": k2, "2.bias": c2, "6.weight": wl, "6.bias": bl})
    return _sgd_step(model, data["lr"], data["x"], data["y"], backend)


def _value_and_grad(f):
    """x -> (f(x), df/dx) in PyTorch's idiom, which the tracer records as one graph."""

    def fn(x, *rest):
        x = x.detach().requires_grad_()
        loss = f(x, *rest)
        loss.backward()
        return loss.detach(), x.grad

    return fn


def _grad(f):
    """x -> df/dx alone (W3): the value is not returned, so a compiler may drop the forward's sum."""

    def fn(x):
        x = x.detach().requires_grad_()
        f(x).backward()
        return x.grad

    return fn


def _gelu_sigmoid_sum(x):
    return (tg.nn.functional.gelu(1.5 * x + 0.5, approximate="tanh") * x.sigmoid()).sum()


def w3(data, backend):
    fn = _compiled(_grad(_gelu_sigmoid_sum), backend)
    x = tg.from_numpy(data["x"])
    return lambda: fn(x)


def w4(data, backend):
    ops = data["ops"]
    fn = _compiled(_value_and_grad(lambda x, a, b: chain(x, a, b, ops)), backend)
    x, a, b = (tg.from_numpy(data[k]) for k in ("x", "a", "b"))
    return lambda: fn(x, a, b)


def w5(data, backend):
    fn = _compiled(lambda a, b: a @ b, backend)
    a, b = tg.from_numpy(data["a"]), tg.from_numpy(data["b"])
    return lambda: fn(a, b)


def w6(data, backend):
    def hvp(w, x, v):
        def f(x):
            return ((w @ x).tanh() ** 2).sum()

        return tg.func.jvp(tg.func.grad(f), (x,), (v,))[1]

    fn = _compiled(hvp, backend)
    w, x, v = (tg.from_numpy(data[k]) for k in ("w", "x", "v"))
    return lambda: fn(w, x, v)


def w7(data, backend):
    ops = data["ops"]
    fn = _compiled(_value_and_grad(lambda x: scalar_chain(x, ops, lambda t: t.tanh())), backend)
    x = tg.from_numpy(data["x"])
    return lambda: fn(x)
