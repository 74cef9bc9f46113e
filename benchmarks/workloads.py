"""The workloads (W1-W6 of issue 6, W7 of issue 17): sizes, the numpy inputs every framework starts from, units, and the probe
that turns a runner's first outputs into the numbers compared across frameworks.

Depends on numpy only. Every framework builds its runner from the same `data` dict (float32 arrays, weights in
PyTorch's layouts: Linear (out, in), Conv2d (out, in, kh, kw), images NCHW), so the same initial weights meet
the same inputs everywhere; a framework whose idiom wants another layout converts in its own module.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LEARNING_RATE = 0.01  # SGD in W1 and W2


@dataclass(frozen=True)
class Workload:
    """One benchmark. `sizes` are the issue's; `tiny` the same shapes shrunk for smoke tests. `describe(sizes)`
    is the title, with the sizes in it.

    `value(seconds, sizes)` turns the median time of one run into the number shown in `unit`;
    `higher_is_better` says which way that number goes (the ratio column is always time / best peer's time).
    `probe(run, to_numpy)` calls a fresh runner once or twice and returns named float64 arrays; each runner's
    are compared with tapegrad eager's, and a relative difference above `tolerance` marks the row.
    `exact(data)`, where there is one, gives the same named arrays computed in float64 by numpy, to check
    tapegrad eager itself.
    """

    key: str
    describe: Callable[[dict], str]
    unit: str
    sizes: dict
    tiny: dict
    make_data: Callable[[dict], dict]
    value: Callable[[float, dict], float]
    higher_is_better: bool
    probe: Callable
    tolerance: float
    exact: Callable[[dict], dict] | None = None


def _rng(seed: int = 0):
    return np.random.default_rng(seed)


def _uniform_init(rng, shape, fan_in):
    """PyTorch's default Linear / Conv2d init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), here from a seeded numpy."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


# *** probes: the numbers each runner must agree on ***


def probe_training_step(run, to_numpy) -> dict:
    """Two steps from the shared initial weights: the first loss checks the forward pass, the drop in loss made
    by one SGD update checks the gradients and the update (for small lr it is about lr * |grad|^2)."""
    first = float(to_numpy(run()))
    second = float(to_numpy(run()))
    return {"loss": np.float64(first), "loss drop after one step": np.float64(first - second)}


def probe_value_and_grad(run, to_numpy) -> dict:
    loss, grad = run()
    return {"value": np.float64(to_numpy(loss)), "gradient": to_numpy(grad).astype(np.float64)}


def probe_array(name: str):
    def probe(run, to_numpy) -> dict:
        return {name: to_numpy(run()).astype(np.float64)}

    return probe


def relative_difference(got: dict, ref: dict) -> float:
    """The largest |got - ref| / |ref| (norms for arrays) over the named parts; inf when a part is missing,
    has another shape or holds a NaN."""
    worst = 0.0
    for name, r in ref.items():
        g = got.get(name)
        if g is None or np.shape(g) != np.shape(r):
            return float("inf")
        scale = max(float(np.linalg.norm(r)), 1e-30)
        diff = float(np.linalg.norm(np.asarray(g) - r)) / scale
        if not np.isfinite(diff):
            return float("inf")
        worst = max(worst, diff)
    return worst


# *** W1: MLP training step ***


def w1_data(s: dict) -> dict:
    r = _rng(0)
    dims = s["dims"]
    data = {"x": r.standard_normal((s["batch"], dims[0])).astype(np.float32),
            "y": r.integers(0, dims[-1], s["batch"]).astype(np.int64), "lr": LEARNING_RATE, "layers": []}
    for fan_in, fan_out in itertools.pairwise(dims):
        data["layers"].append((_uniform_init(r, (fan_out, fan_in), fan_in), _uniform_init(r, (fan_out,), fan_in)))
    return data


def _mlp_loss_and_grads(layers, x, y):
    """Mean softmax cross-entropy of the ReLU MLP and its gradients [(dW, db), ...], by hand in float64."""
    acts, h = [x], x
    for i, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0)
        acts.append(h)
    z = acts[-1] - acts[-1].max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = float(np.mean(-np.log(p[rows, y])))
    dz = p
    dz[rows, y] -= 1
    dz /= len(y)
    grads = []
    for i in reversed(range(len(layers))):
        w, _ = layers[i]
        grads.append((dz.T @ acts[i], dz.sum(axis=0)))
        dz = (dz @ w) * (acts[i] > 0)  # ReLU's derivative; acts[0] is the input, whose gradient is not used
    return loss, grads[::-1]


def w1_exact(data: dict) -> dict:
    """The first loss and the drop after one SGD step, in float64."""
    layers = [(w.astype(np.float64), b.astype(np.float64)) for w, b in data["layers"]]
    x, y, lr = data["x"].astype(np.float64), data["y"], data["lr"]
    first, grads = _mlp_loss_and_grads(layers, x, y)
    stepped = [(w - lr * dw, b - lr * db) for (w, b), (dw, db) in zip(layers, grads)]
    second, _ = _mlp_loss_and_grads(stepped, x, y)
    return {"loss": np.float64(first), "loss drop after one step": np.float64(first - second)}


# *** W2: CNN training step ***


def w2_data(s: dict) -> dict:
    """conv3x3 (no padding) 1 -> c1, ReLU, conv3x3 c1 -> c2, ReLU, maxpool 2, linear -> classes."""
    r = _rng(0)
    c1, c2, size = s["c1"], s["c2"], s["image"]
    pooled = (size - 4) // 2
    features = c2 * pooled * pooled
    return {
        "x": r.standard_normal((s["batch"], 1, size, size)).astype(np.float32),
        "y": r.integers(0, s["classes"], s["batch"]).astype(np.int64),
        "conv1": (_uniform_init(r, (c1, 1, 3, 3), 9), _uniform_init(r, (c1,), 9)),
        "conv2": (_uniform_init(r, (c2, c1, 3, 3), c1 * 9), _uniform_init(r, (c2,), c1 * 9)),
        "linear": (_uniform_init(r, (s["classes"], features), features), _uniform_init(r, (s["classes"],), features)),
        "pooled": (c2, pooled, pooled),  # the shape flattened before the linear layer, channels first
        "lr": LEARNING_RATE,
    }


# *** W3: the gradient of sum(gelu_tanh(1.5 x + 0.5) * sigmoid(x)), forward + backward ***
# Only the gradient is returned, as in the independent harness (../shared/peer-bench): asking for the value too
# made XLA's step five times slower here (a reduction and an elementwise output in one fusion), which flattered us.


def w3_data(s: dict) -> dict:
    return {"x": _rng(0).standard_normal(s["n"]).astype(np.float32)}


def w3_exact(data: dict) -> dict:
    """The gradient in float64 by the closed form."""
    x = data["x"].astype(np.float64)
    c = np.sqrt(2 / np.pi)
    u = 1.5 * x + 0.5
    t = np.tanh(c * (u + 0.044715 * u**3))
    gelu = 0.5 * u * (1 + t)
    dgelu = 0.5 * (1 + t) + 0.5 * u * (1 - t**2) * c * (1 + 3 * 0.044715 * u**2)
    sig = 1 / (1 + np.exp(-x))
    return {"gradient": 1.5 * dgelu * sig + gelu * sig * (1 - sig)}


# *** W4: 1,000-op small-tensor chain, forward + backward ***


def w4_data(s: dict) -> dict:
    """x, a, b; a near 1 and b near 0 so that ops / 2 rounds of x * a + b stay finite."""
    r = _rng(0)
    shape = (s["size"], s["size"])
    return {"x": r.standard_normal(shape).astype(np.float32),
            "a": (1 + 0.01 * r.standard_normal(shape)).astype(np.float32),
            "b": (0.01 * r.standard_normal(shape)).astype(np.float32), "ops": s["ops"]}


def chain(x, a, b, ops: int, total=lambda t: t.sum()):
    """ops / 2 rounds of `x = x * a + b` (ops elementwise ops), then `total` (a sum); written once for every
    framework, whose tensors all have * and +."""
    for _ in range(ops // 2):
        x = x * a + b
    return total(x)


def w4_exact(data: dict) -> dict:
    x, a, b = (data[k].astype(np.float64) for k in ("x", "a", "b"))
    ops = data["ops"]
    return {"value": chain(x, a, b, ops), "gradient": a ** (ops // 2)}  # each round scales dx by a


# *** W7: a chain of small ops with a Python scalar operand, forward + backward (per-op overhead of eager code) ***

W7_SCALE = 1.01


def w7_data(s: dict) -> dict:
    return {"x": _rng(0).standard_normal((s["size"], s["size"])).astype(np.float32), "ops": s["ops"]}


def scalar_chain(x, ops: int, tanh, total=lambda t: t.sum()):
    """ops / 2 rounds of `x = tanh(x * 1.01)` (a Python number as the second operand, as user code writes it),
    then `total`; `tanh` is the framework's own (jax and TF arrays have no .tanh method)."""
    for _ in range(ops // 2):
        x = tanh(x * W7_SCALE)
    return total(x)


def w7_exact(data: dict) -> dict:
    x, ops = data["x"].astype(np.float64), data["ops"]
    grad = np.ones_like(x)
    for _ in range(ops // 2):
        x = np.tanh(x * W7_SCALE)
        grad = grad * W7_SCALE * (1 - x * x)
    return {"value": x.sum(), "gradient": grad}


# *** W5: matmul ***


def w5_data(s: dict) -> dict:
    r = _rng(0)
    n = s["n"]
    return {"a": r.standard_normal((n, n)).astype(np.float32), "b": r.standard_normal((n, n)).astype(np.float32)}


def w5_exact(data: dict) -> dict:
    return {"product": data["a"].astype(np.float64) @ data["b"].astype(np.float64)}


# *** W6: Hessian-vector product of sum(tanh(W @ x)**2) ***


def w6_data(s: dict) -> dict:
    r = _rng(0)
    n = s["n"]
    return {"w": (r.standard_normal((n, n)) / np.sqrt(n)).astype(np.float32),
            "x": r.standard_normal(n).astype(np.float32), "v": r.standard_normal(n).astype(np.float32)}


def w6_exact(data: dict) -> dict:
    """H v in float64 from the closed form: f = sum(t^2), t = tanh(W x), so H = W^T diag(2 (1 - t^2)(1 - 3 t^2)) W."""
    w, x, v = (data[k].astype(np.float64) for k in ("w", "x", "v"))
    t = np.tanh(w @ x)
    return {"hvp": w.T @ (2 * (1 - 3 * t**2) * (1 - t**2) * (w @ v))}


def _count(n: int) -> str:
    return f"{n >> 20}M" if n % (1 << 20) == 0 else f"{n:,}"


WORKLOADS = {w.key: w for w in (
    Workload("W1", lambda s: f"MLP {'-'.join(map(str, s['dims']))} training step, batch {s['batch']}",
             unit="steps/s", sizes={"batch": 128, "dims": (784, 512, 512, 10)},
             tiny={"batch": 8, "dims": (20, 16, 16, 10)}, make_data=w1_data, value=lambda t, s: 1 / t,
             higher_is_better=True, probe=probe_training_step, tolerance=2e-3, exact=w1_exact),
    Workload("W2", lambda s: f"CNN training step, 1-{s['c1']}-{s['c2']} channels, {s['image']}x{s['image']}, "
             f"batch {s['batch']}", unit="steps/s", sizes={"batch": 64, "image": 28, "c1": 32, "c2": 64, "classes": 10},
             tiny={"batch": 4, "image": 8, "c1": 4, "c2": 8, "classes": 10}, make_data=w2_data,
             value=lambda t, s: 1 / t, higher_is_better=True, probe=probe_training_step, tolerance=2e-3),
    Workload("W3", lambda s: f"gradient of sum(gelu_tanh(1.5x+0.5)*sigmoid(x)), {_count(s['n'])} floats, f+b",
             unit="ms", sizes={"n": 1 << 22}, tiny={"n": 4096}, make_data=w3_data, value=lambda t, s: t * 1e3,
             higher_is_better=False, probe=probe_array("gradient"), tolerance=1e-3, exact=w3_exact),
    Workload("W4", lambda s: f"{s['ops']:,}-op chain on {s['size']}x{s['size']} tensors, f+b",
             unit="us/op", sizes={"size": 16, "ops": 1000}, tiny={"size": 4, "ops": 20}, make_data=w4_data,
             value=lambda t, s: t * 1e6 / s["ops"], higher_is_better=False, probe=probe_value_and_grad,
             tolerance=1e-3, exact=w4_exact),
    Workload("W5", lambda s: f"{s['n']}x{s['n']} float32 matmul",
             unit="GFLOP/s", sizes={"n": 2048}, tiny={"n": 64}, make_data=w5_data,
             value=lambda t, s: 2 * s["n"] ** 3 / t / 1e9, higher_is_better=True, probe=probe_array("product"),
             tolerance=1e-4, exact=w5_exact),
    Workload("W6", lambda s: f"Hessian-vector product of sum(tanh(W @ x)**2), W {s['n']}x{s['n']}",
             unit="ms", sizes={"n": 512}, tiny={"n": 16}, make_data=w6_data, value=lambda t, s: t * 1e3,
             higher_is_better=False, probe=probe_array("hvp"), tolerance=1e-3, exact=w6_exact),
    Workload("W7", lambda s: f"{s['ops']}-op chain x = tanh(x * 1.01) on {s['size']}x{s['size']}, f+b",
             unit="us/op", sizes={"size": 16, "ops": 100}, tiny={"size": 4, "ops": 10}, make_data=w7_data,
             value=lambda t, s: t * 1e6 / s["ops"], higher_is_better=False, probe=probe_value_and_grad,
             tolerance=1e-3, exact=w7_exact),
)}
