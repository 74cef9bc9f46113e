"""The autodiff tasks `tapegrad compare` runs: inputs (numpy) and a numpy reference for each.

Depends on numpy only. Each framework adapter (`tapegrad/compare/<framework>_.py`) writes every task in
its own idiom; `runner.py` feeds them these inputs and checks their answers against `reference`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Task:
    """One workload: `inputs()` gives float32 numpy arrays; `reference(inputs)` the expected answer in float64.

    `check` names how the reference is made: "fd" (central finite differences of a numpy function),
    "exact" (closed form; no derivative involved, or a hand-written rule that is *not* the true derivative).
    """

    name: str
    title: str
    inputs: Callable[[], dict]
    reference: Callable[[dict], list]
    check: str = "fd"
    rtol: float = 2e-3
    atol: float = 2e-4


def _rng(seed: int = 0):
    return np.random.default_rng(seed)


def finite_diff(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Gradient of scalar f at x (float64) by central differences, one coordinate at a time."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        hi = f(x)
        flat[i] = old - eps
        lo = f(x)
        flat[i] = old
        gflat[i] = (hi - lo) / (2 * eps)
    return g


def _f64(inputs: dict) -> dict:
    return {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}


# *** the seed article's examples ***


def _arith_inputs():
    return {"x": np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)}


def _arith_ref(inp):
    return [(_f64(inp)["x"] + 1).reshape(4)]


def _graph_ref(inp):
    x = _f64(inp)["x"]
    return [np.array((x @ x).sum())]


def _linear_inputs():
    r = _rng(1)
    return {
        "x": np.array([[1.0, 2.0]], dtype=np.float32),
        "W": r.standard_normal((2, 2)).astype(np.float32),
        "b": np.zeros(2, dtype=np.float32),
    }


def _linear_grads(inp):
    v = _f64(inp)
    loss = lambda W, b: (v["x"] @ W + b).sum()  # noqa: E731  (TF sums a non-scalar target)
    return [finite_diff(lambda W: loss(W, v["b"]), v["W"]), finite_diff(lambda b: loss(v["W"], b), v["b"])]


def _clip_ref(inp):
    return [np.clip(g, -0.1, 0.1) for g in _linear_grads(inp)]


def _power_inputs():
    return {"x": np.array(1.3, dtype=np.float32), "n": np.array(5, dtype=np.int64)}


def _power_ref(inp):
    n = int(inp["n"])
    return [finite_diff(lambda x: float(x) ** n, np.float64(inp["x"]))]


def _custom_inputs():
    return {"x": np.array(1.0, dtype=np.float32)}


def _custom_ref(inp):
    # The hand-written rule is dy * x, deliberately not the true derivative 2x: the answer must be the rule's.
    return [np.asarray(inp["x"], dtype=np.float64)]


# *** beyond the seed: higher order, forward mode, batching, control flow, mutation ***


def _vec_inputs():
    return {"x": _rng(2).standard_normal(6).astype(np.float32)}


def hessian_fn(x):
    """The Hessian task's function, in numpy: sum(sin(x) * x**2) + (sum x)**2 / 2."""
    return (np.sin(x) * x**2).sum() + x.sum() ** 2 / 2


def _hessian_ref(inp):
    x = _f64(inp)["x"]
    cols = [finite_diff(lambda z: finite_diff(hessian_fn, z, 1e-5)[i], x, 1e-5) for i in range(x.size)]
    return [np.stack(cols)]


def _jvp_inputs():
    r = _rng(3)
    return {
        "W": r.standard_normal((3, 4)).astype(np.float32),
        "x": r.standard_normal(4).astype(np.float32),
        "v": r.standard_normal(4).astype(np.float32),
    }


def _jvp_ref(inp):
    v = _f64(inp)
    f = lambda x: np.tanh(v["W"] @ x)  # noqa: E731
    eps = 1e-6
    return [(f(v["x"] + eps * v["v"]) - f(v["x"] - eps * v["v"])) / (2 * eps)]


def _jacobian_ref(inp):
    v = _f64(inp)
    return [np.stack([finite_diff(lambda x: np.tanh(v["W"] @ x)[i], v["x"]) for i in range(3)])]


def _per_example_inputs():
    r = _rng(4)
    return {
        "X": r.standard_normal((8, 5)).astype(np.float32),
        "y": r.standard_normal(8).astype(np.float32),
        "w": r.standard_normal(5).astype(np.float32),
    }


def _per_example_ref(inp):
    v = _f64(inp)
    rows = [finite_diff(lambda w: (np.tanh(xi @ w) - yi) ** 2, v["w"]) for xi, yi in zip(v["X"], v["y"])]
    return [np.stack(rows)]


def _dynamic_inputs():
    return {"x": np.array(1.1, dtype=np.float32)}


def dynamic_fn(x):
    """Multiply by 1.5 until the value passes 10: the trip count depends on x's value."""
    while x < 10.0:
        x = x * 1.5
    return x


def _dynamic_ref(inp):
    return [finite_diff(dynamic_fn, np.float64(inp["x"]))]


def _inplace_inputs():
    return {"x": _rng(5).standard_normal(5).astype(np.float32)}


def _inplace_ref(inp):
    # loss = sum(2 * sigmoid(x)); a framework that reuses the mutated saved output answers 2s(1 - 2s) instead.
    return [finite_diff(lambda x: (2 / (1 + np.exp(-x))).sum(), _f64(inp)["x"])]


MLP_SIZES = (16, 32, 4)


def _mlp_inputs():
    r = _rng(6)
    d, h, c = MLP_SIZES
    return {
        "X": r.standard_normal((32, d)).astype(np.float32),
        "y": r.integers(0, c, 32).astype(np.int64),
        "W1": (r.standard_normal((d, h)) / np.sqrt(d)).astype(np.float32),
        "b1": np.zeros(h, dtype=np.float32),
        "W2": (r.standard_normal((h, c)) / np.sqrt(h)).astype(np.float32),
        "b2": np.zeros(c, dtype=np.float32),
    }


def mlp_loss(X, y, W1, b1, W2, b2):
    """Mean softmax cross-entropy of a relu MLP, in numpy."""
    z = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(y)), y].mean()


def _mlp_ref(inp):
    v = _f64(inp)
    v["y"] = inp["y"]
    names = ["W1", "b1", "W2", "b2"]
    out = []
    for name in names:
        out.append(finite_diff(lambda p: mlp_loss(**{**v, name: p}), v[name]))
    return out


def _chain_inputs():
    return {"x": _rng(7).standard_normal(100_000).astype(np.float32)}


def chain_fn(x):
    """The fused chain: sum(tanh(1.5 x + 0.5) * sigmoid(x) - 0.1 x^2), in numpy."""
    return (np.tanh(1.5 * x + 0.5) * (1 / (1 + np.exp(-x))) - 0.1 * x**2).sum()


def _chain_ref(inp):
    # Analytic, since 100k finite differences would be slow: d/dx of each term, checked against fd in tests.
    x = _f64(inp)["x"]
    t, s = np.tanh(1.5 * x + 0.5), 1 / (1 + np.exp(-x))
    return [1.5 * (1 - t**2) * s + t * s * (1 - s) - 0.2 * x]


TASKS = [
    Task("arithmetic", "tensor arithmetic (x + 1, reshape)", _arith_inputs, _arith_ref, "exact"),
    Task("graph_function", "a graph function: sum(x @ x) under @function", _arith_inputs, _graph_ref, "exact"),
    Task("linear_tape", "tape gradients of a linear layer", _linear_inputs, _linear_grads),
    Task("clip_gradients", "gradient clipping to [-0.1, 0.1]", _linear_inputs, _clip_ref),
    Task("while_loop_grad", "gradient through a while loop (x**n)", _power_inputs, _power_ref),
    Task("custom_gradient", "a custom gradient (x*x with rule dy*x)", _custom_inputs, _custom_ref, "exact"),
    Task("hessian", "a Hessian (6x6)", _vec_inputs, _hessian_ref, rtol=1e-2, atol=1e-3),
    Task("jvp", "a JVP (forward mode) of tanh(W x)", _jvp_inputs, _jvp_ref),
    Task("jacobian", "a Jacobian (3x4) of tanh(W x)", _jvp_inputs, _jacobian_ref),
    Task("per_example_grads", "per-example gradients (8 examples)", _per_example_inputs, _per_example_ref),
    Task("dynamic_loop", "gradient through a loop with a run-time trip count", _dynamic_inputs, _dynamic_ref),
    Task("inplace_update", "an in-place update of a saved value: caught or not", _inplace_inputs, _inplace_ref),
    Task("mlp_step", "an MLP training step (16-32-4, batch 32, SGD)", _mlp_inputs, _mlp_ref),
    Task("fused_chain", "a fused elementwise chain (100k elements) + gradient", _chain_inputs, _chain_ref, "exact"),
]

TASKS_BY_NAME = {t.name: t for t in TASKS}


class Caught(str):
    """What a task returns when the framework refused the computation with an error, as it should have
    (the in-place task): the text is the framework's own message, first line."""


def caught(err: BaseException, limit: int = 200) -> Caught:
    lines = str(err).strip().splitlines()
    text = f"{type(err).__name__}: {lines[0] if lines else ''}"
    return Caught(text if len(text) <= limit else text[: limit - 3] + "...")
