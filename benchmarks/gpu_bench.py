"""W1, W3 and W5 on one GPU, for whoever has one: `python -m benchmarks.gpu_bench` (benchmarks/gpu_check.sh runs it).

W1: MLP 784-512-512-10 training step (SGD), batch 128, float32 (steps/s). W3: the gradient of
sum(gelu_tanh(1.5x+0.5)*sigmoid(x)) over 64M floats, forward + backward (ms, and the effective bandwidth of the
minimal traffic: read x, write the gradient, 8 bytes per element). W5: 8192x8192 matmul in float32, TF32 and
bfloat16 (TFLOP/s). Each row is the median of timed repeats after warm-up, synchronised with the device.

tapegrad runs through its "cuda" compiler backend, with the plan's inputs already on the GPU (CudaPlan.run_device):
tapegrad's tensors live in host memory in this build, so it has no GPU eager row. Its matmul is CuPy's (cuBLAS),
float32 only. Peers (PyTorch eager, torch.compile, jax.jit) run when installed with GPU support. This script has
not been run yet (no GPU was available where it was written): docs/cuda.md.
"""

from __future__ import annotations

import statistics
import sys
import time
import traceback

import numpy as np

W1_DIMS, W1_BATCH, W3_N, W5_N, LR = (784, 512, 512, 10), 128, 1 << 26, 8192, 0.01


def _time(fn, sync, repeats=7, min_s=0.05) -> float:
    """Median seconds per call: calls are batched until one batch takes min_s."""
    fn(), fn(), sync()
    n, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        sync()
        t = time.perf_counter() - t0
        if t >= min_s:
            break
        n *= 2
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        sync()
        runs.append((time.perf_counter() - t0) / n)
    return statistics.median(runs)


def _data(seed=0):
    r = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(W1_DIMS, W1_DIMS[1:]):
        bound = 1 / np.sqrt(fan_in)
        layers.append((r.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                       r.uniform(-bound, bound, fan_out).astype(np.float32)))
    x = r.standard_normal((W1_BATCH, W1_DIMS[0])).astype(np.float32)
    y = r.integers(0, W1_DIMS[-1], W1_BATCH)
    return layers, x, y


# *** tapegrad (backend="cuda") ***


def tapegrad_rows():
    import cupy as cp

    import tapegrad as tg

    F = tg.nn.functional
    sync = cp.cuda.Device().synchronize

    def plan_of(fn, *args):
        """The cuda plan of fn and its inputs on the GPU, in the plan's order (tg.jit orders the leaves of the
        arguments by name, so they are taken from the same call that traces)."""
        cf, leaves = tg.jit(fn, backend="cuda")._concrete(args, {})
        return cf.plan(), [cp.asarray(t.numpy()) for t in leaves]

    layers, x, y = _data()

    def step(w1, b1, w2, b2, w3, b3, x, y):
        def loss(*p):
            h = F.relu(x @ p[0].T + p[1])
            h = F.relu(h @ p[2].T + p[3])
            return F.cross_entropy(h @ p[4].T + p[5], y)

        params = (w1, b1, w2, b2, w3, b3)
        grads = tg.func.grad(loss, argnums=tuple(range(6)))(*params)
        return tuple(p - LR * g for p, g in zip(params, grads))

    args = [tg.tensor(a) for wb in layers for a in wb] + [tg.tensor(x), tg.tensor(y)]
    plan, feed = plan_of(step, *args)
    yield "W1", "tapegrad compiled (cuda)", 1 / _time(lambda: plan.run_device(feed), sync), "steps/s"

    def w3(x):
        u = 1.5 * x + 0.5
        return (F.gelu(u, approximate="tanh") * tg.sigmoid(x)).sum()

    xs = np.random.default_rng(1).standard_normal(W3_N).astype(np.float32)
    plan, feed = plan_of(tg.func.grad(w3), tg.tensor(xs))
    t = _time(lambda: plan.run_device(feed), sync)
    yield "W3", "tapegrad compiled (cuda)", t * 1e3, f"ms ({8 * W3_N / t / 1e12:.2f} TB/s)"

    a = tg.tensor(np.random.default_rng(2).standard_normal((W5_N, W5_N)).astype(np.float32))
    plan, feed = plan_of(lambda p, q: p @ q, a, a)
    t = _time(lambda: plan.run_device(feed), sync)
    yield "W5 fp32", "tapegrad compiled (cuda)", 2 * W5_N**3 / t / 1e12, "TFLOP/s"


# *** PyTorch ***


def torch_rows():
    import torch
    import torch.nn.functional as tF

    dev, sync = "cuda", torch.cuda.synchronize
    layers, x, y = _data()
    params = [torch.tensor(a, device=dev, requires_grad=True) for wb in layers for a in wb]
    xt, yt = torch.tensor(x, device=dev), torch.tensor(y, device=dev)

    def step():
        h = xt
        for i in range(0, 6, 2):
            h = h @ params[i].T + params[i + 1]
            h = torch.relu(h) if i < 4 else h
        loss = tF.cross_entropy(h, yt)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p -= LR * g

    xs = torch.randn(W3_N, device=dev, requires_grad=True)

    def w3():
        (g,) = torch.autograd.grad((tF.gelu(1.5 * xs + 0.5, approximate="tanh") * torch.sigmoid(xs)).sum(), xs)
        return g

    for label, wrap in (("PyTorch eager", lambda f: f), ("torch.compile", torch.compile)):
        try:
            yield "W1", label, 1 / _time(wrap(step), sync), "steps/s"
            t = _time(wrap(w3), sync)
            yield "W3", label, t * 1e3, f"ms ({8 * W3_N / t / 1e12:.2f} TB/s)"
        except Exception as exc:  # torch.compile needs triton and a compiler; report and go on
            yield "W1/W3", label, float("nan"), f"failed: {type(exc).__name__}: {exc}"[:120]
    a = torch.randn(W5_N, W5_N, device=dev)
    for label, dtype, tf32 in (("fp32", torch.float32, False), ("tf32", torch.float32, True),
                               ("bf16", torch.bfloat16, False)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        b = a.to(dtype)
        t = _time(lambda: b @ b, sync)
        yield f"W5 {label}", "PyTorch eager", 2 * W5_N**3 / t / 1e12, "TFLOP/s"
    torch.backends.cuda.matmul.allow_tf32 = False


# *** JAX ***


def jax_rows():
    import jax
    import jax.numpy as jnp

    if jax.default_backend() != "gpu":
        raise RuntimeError(f"jax runs on {jax.default_backend()}, not a GPU (install jax[cuda13])")
    layers, x, y = _data()
    params = [jnp.asarray(a) for wb in layers for a in wb]
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def loss(p, x, y):
        h = x
        for i in range(0, 6, 2):
            h = h @ p[i].T + p[i + 1]
            h = jax.nn.relu(h) if i < 4 else h
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], 1))

    step = jax.jit(lambda p, x, y: [a - LR * g for a, g in zip(p, jax.grad(loss)(p, x, y))])
    state = {"p": params}

    def run():
        state["p"] = step(state["p"], xj, yj)

    yield "W1", "jax.jit", 1 / _time(run, lambda: jax.block_until_ready(state["p"])), "steps/s"
    xs = jnp.asarray(np.random.default_rng(1).standard_normal(W3_N).astype(np.float32))
    g = jax.jit(jax.grad(lambda x: jnp.sum(jax.nn.gelu(1.5 * x + 0.5, approximate=True) * jax.nn.sigmoid(x))))
    out = {}
    t = _time(lambda: out.__setitem__("g", g(xs)), lambda: jax.block_until_ready(out["g"]))
    yield "W3", "jax.jit", t * 1e3, f"ms ({8 * W3_N / t / 1e12:.2f} TB/s)"
    a = jnp.asarray(np.random.default_rng(2).standard_normal((W5_N, W5_N)).astype(np.float32))
    for label, dtype, precision in (("fp32", jnp.float32, "highest"), ("tf32", jnp.float32, "default"),
                                    ("bf16", jnp.bfloat16, "default")):
        b = a.astype(dtype)
        mm = jax.jit(lambda p, q, precision=precision: jnp.matmul(p, q, precision=precision))
        t = _time(lambda: out.__setitem__("m", mm(b, b)), lambda: jax.block_until_ready(out["m"]))
        yield f"W5 {label}", "jax.jit", 2 * W5_N**3 / t / 1e12, "TFLOP/s"


def main() -> int:
    rows = []
    for name, fn in (("tapegrad", tapegrad_rows), ("torch", torch_rows), ("jax", jax_rows)):
        try:
            for row in fn():
                rows.append(row)
                print(f"  {row[0]:<8} {row[1]:<26} {row[2]:>12.4g} {row[3]}", flush=True)
        except ImportError as exc:
            print(f"  {name}: not installed ({exc})", flush=True)
        except Exception as exc:
            print(f"  {name}: failed: {type(exc).__name__}: {exc}", flush=True)
            traceback.print_exc(limit=3)
    print("\n| workload | runner | value | unit |\n|---|---|---:|---|")
    for w, runner, value, unit in sorted(rows, key=lambda r: r[0]):
        print(f"| {w} | {runner} | {value:.4g} | {unit} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
