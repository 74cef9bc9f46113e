"""The workloads in tinygrad on its CPU device (C kernels built with clang): lazy Tensors, `.backward()` /
`.gradient()`, each step under `TinyJit`, which replays the captured kernels from its third call on.

tinygrad picks its device from the DEV environment variable (0.12 and later; older releases used CPU=1 or
CLANG=1); this module sets DEV=CPU when nothing is set, since the suite compares CPU frameworks.
"""

from __future__ import annotations

import os
import subprocess

os.environ.setdefault("DEV", "CPU")  # NOTE: before the import: tinygrad reads it once

import numpy as np
from tinygrad import Context, Device, Tensor, TinyJit, nn

from benchmarks.workloads import chain, scalar_chain

NAME = "tinygrad"
PIP = "pip install tinygrad"
VARIANTS = {"tinygrad TinyJit": "jit"}


def version() -> str:
    import importlib.metadata

    device = Device[Device.DEFAULT]
    return f"{importlib.metadata.version('tinygrad')} ({Device.DEFAULT}, {type(device.renderer).__name__})"


def known_failures() -> dict:
    """{workload: why it is not tried}. tinygrad 0.14 fuses W4's 1,000-op chain (and its backward) into one C
    expression nested deeper than clang's limit of 256 brackets, so clang rejects it, after about three minutes
    of scheduling on 2 cores (400 ops: 20 s, also rejected; 200 ops compile in 3 s). Later versions are tried."""
    import importlib.metadata

    release = tuple(int(p) for p in importlib.metadata.version("tinygrad").split(".")[:2] if p.isdigit())
    if release <= (0, 14):
        return {"W4": "tinygrad <= 0.14 makes one kernel of the 1,000-op chain that clang rejects (bracket nesting "
                      "> 256), after minutes of work"}
    return {}


def to_numpy(out) -> np.ndarray:
    return out.numpy() if isinstance(out, Tensor) else np.asarray(out)


def _synchronized(fn):
    """Calls fn, then waits for the device: tinygrad's CPU device runs kernels on worker threads, so a returned
    (realized) Tensor can still be in flight. A kernel that clang rejects surfaces as a bare CalledProcessError
    naming only the command; it is re-raised saying what failed (clang's own message went to stderr)."""

    def run(*args):
        try:
            out = fn(*args)
        except subprocess.CalledProcessError as e:
            raise RuntimeError(f"tinygrad's kernel compiler {e.cmd[0]!r} rejected a generated kernel (exit status "
                               f"{e.returncode}); its message is on stderr") from e
        Device[Device.DEFAULT].synchronize()
        return out

    return run


def _training_step(model, params, x, y, lr):
    opt = nn.optim.SGD(params, lr=lr)

    @TinyJit
    def step(x, y):
        with Context(TRAINING=1):  # tinygrad's optimizer refuses to step outside training mode
            opt.zero_grad()
            loss = model(x).sparse_categorical_crossentropy(y).backward()
            # NOTE: the loss is realized with the update, in one schedule; realized after opt.step() it would be
            # computed lazily from the updated weights
            return loss.realize(*opt.schedule_step())

    x, y = Tensor(x).realize(), Tensor(y).realize()
    run = _synchronized(step)
    return lambda: run(x, y)


class _MLP:
    def __init__(self, layers):
        self.layers = []
        for w, b in layers:
            layer = nn.Linear(w.shape[1], w.shape[0])
            layer.weight, layer.bias = Tensor(w), Tensor(b)
            self.layers.append(layer)

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = layer(x).relu()
        return self.layers[-1](x)


def w1(data, variant):
    model = _MLP(data["layers"])
    return _training_step(model, nn.state.get_parameters(model), data["x"], data["y"], data["lr"])


class _CNN:
    def __init__(self, data):
        (k1, c1), (k2, c2), (wl, bl) = data["conv1"], data["conv2"], data["linear"]
        self.conv1, self.conv2 = nn.Conv2d(1, k1.shape[0], 3), nn.Conv2d(k1.shape[0], k2.shape[0], 3)
        self.linear = nn.Linear(wl.shape[1], wl.shape[0])
        for layer, (w, b) in ((self.conv1, (k1, c1)), (self.conv2, (k2, c2)), (self.linear, (wl, bl))):
            layer.weight, layer.bias = Tensor(w), Tensor(b)

    def __call__(self, x):
        x = self.conv2(self.conv1(x).relu()).relu().max_pool2d(2)
        return self.linear(x.flatten(1))


def w2(data, variant):
    model = _CNN(data)
    return _training_step(model, nn.state.get_parameters(model), data["x"], data["y"], data["lr"])


def _value_and_grad(f):
    def fn(x, *rest):
        loss = f(x, *rest)
        (grad,) = loss.gradient(x)
        Tensor.realize(loss, grad)  # one schedule for both, so the forward can fuse into the backward
        return loss, grad

    return fn


def _grad(f):
    """x -> df/dx alone (W3)."""

    def fn(x):
        (grad,) = f(x).gradient(x)
        return grad.realize()

    return fn


def w3(data, variant):
    fn = _synchronized(TinyJit(_grad(lambda x: ((1.5 * x + 0.5).gelu() * x.sigmoid()).sum())))
    x = Tensor(data["x"]).realize()
    return lambda: fn(x)


def w4(data, variant):
    ops = data["ops"]
    fn = _synchronized(TinyJit(_value_and_grad(lambda x, a, b: chain(x, a, b, ops))))
    x, a, b = (Tensor(data[k]).realize() for k in ("x", "a", "b"))
    return lambda: fn(x, a, b)


def w5(data, variant):
    fn = _synchronized(TinyJit(lambda a, b: (a @ b).realize()))
    a, b = Tensor(data["a"]).realize(), Tensor(data["b"]).realize()
    return lambda: fn(a, b)


def w6(data, variant):
    def hvp(w, x, v):
        """Reverse over reverse (tinygrad has no forward mode): H v = d/dx (grad f(x) . v)."""
        (grad,) = (w @ x).tanh().square().sum().gradient(x)
        (hv,) = (grad * v).sum().gradient(x)
        return hv.realize()

    fn = _synchronized(TinyJit(hvp))
    w, x, v = (Tensor(data[k]).realize() for k in ("w", "x", "v"))
    return lambda: fn(w, x, v)


def w7(data, variant):
    ops = data["ops"]
    fn = _synchronized(TinyJit(_value_and_grad(lambda x: scalar_chain(x, ops, lambda t: t.tanh()))))
    x = Tensor(data["x"]).realize()
    return lambda: fn(x)
