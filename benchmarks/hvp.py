"""Hessian-vector product of f(x) = sum(tanh(W @ x)**2), W 512x512, by forward over reverse: jvp(grad(f)).

tapegrad eager and jitted (tg.jit of the same), PyTorch (torch.func.jvp of torch.func.grad) and JAX (jax.jvp of jax.grad, jitted)
when installed, in one process on the same data, in alternating repeats; medians in ms per product.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.hvp [--n 512] [--repeats 31]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

import tapegrad as tg

try:
    import torch
except ImportError:
    torch = None
try:
    import jax
    import jax.numpy as jnp
except ImportError:
    jax = None


def _inputs(n, seed=0):
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((n, n)) / np.sqrt(n)).astype(np.float32)
    x = rng.standard_normal(n).astype(np.float32)
    v = rng.standard_normal(n).astype(np.float32)
    return w, x, v


def tapegrad_hvp(w, x, v):
    W, X, V = tg.tensor(w), tg.tensor(x), tg.tensor(v)

    def f(x):
        return ((W @ x).tanh() ** 2).sum()

    def hvp():
        return tg.func.jvp(tg.func.grad(f), (X,), (V,))[1]

    return hvp, lambda out: out.numpy()


def tapegrad_jit_hvp(w, x, v):
    W, X, V = tg.tensor(w), tg.tensor(x), tg.tensor(v)

    def f(x):
        return ((W @ x).tanh() ** 2).sum()

    fn = tg.jit(lambda x, v: tg.func.jvp(tg.func.grad(f), (x,), (v,))[1])
    return (lambda: fn(X, V)), lambda out: out.numpy()


def torch_hvp(w, x, v):
    W, X, V = torch.tensor(w), torch.tensor(x), torch.tensor(v)

    def f(x):
        return (torch.tanh(W @ x) ** 2).sum()

    def hvp():
        return torch.func.jvp(torch.func.grad(f), (X,), (V,))[1]

    return hvp, lambda out: out.numpy()


def jax_hvp(w, x, v):
    W, X, V = jnp.asarray(w), jnp.asarray(x), jnp.asarray(v)

    def f(x):
        return (jnp.tanh(W @ x) ** 2).sum()

    fn = jax.jit(lambda x, v: jax.jvp(jax.grad(f), (x,), (v,))[1])

    def hvp():
        return fn(X, V).block_until_ready()

    return hvp, lambda out: np.asarray(out)


def _reference(w, x, v):
    """H v in float64, from the closed form: f = sum(t^2), t = tanh(W x); H = W^T diag(2(1 - 3 t^2)(1 - t^2)) W."""
    w, x, v = (a.astype(np.float64) for a in (w, x, v))
    t = np.tanh(w @ x)
    return w.T @ (2 * (1 - 3 * t**2) * (1 - t**2) * (w @ v))


def _environment():
    parts = [f"python {platform.python_version()}", f"numpy {np.__version__}", f"tapegrad {tg.__version__}"]
    if torch is not None:
        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    if jax is not None:
        parts.append(f"jax {jax.__version__}")
    unset = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ]
    if unset:
        parts.append("NOTE: " + ", ".join(unset) + " set (they slow numpy; see benchmarks/README.md)")
    return ", ".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="W is n x n float32 (default 512)")
    parser.add_argument("--repeats", type=int, default=31, help="timed repeats per framework (default 31)")
    args = parser.parse_args(argv)
    arrays = _inputs(args.n)
    runners = {"tapegrad eager": tapegrad_hvp(*arrays)}
    try:
        runners["tapegrad jit"] = tapegrad_jit_hvp(*arrays)
        runners["tapegrad jit"][0]()
    except Exception as e:  # graph mode is another issue's work; report, do not hide, a failure
        runners.pop("tapegrad jit", None)
        print(f"tapegrad jit: skipped ({type(e).__name__}: {e})")
    if torch is not None:
        runners["torch.func"] = torch_hvp(*arrays)
    else:
        print('PyTorch is not installed; for the comparison: pip install "torch==2.13.0"')
    if jax is not None:
        runners["jax (jit)"] = jax_hvp(*arrays)
    else:
        print('JAX is not installed; for the comparison: pip install "jax[cpu]"')
    print(
        f"Hessian-vector product of sum(tanh(W @ x)**2), W {args.n}x{args.n} float32, jvp(grad(f)); "
        f"median of {args.repeats} alternating repeats"
    )
    print(_environment())
    ref = _reference(*arrays)
    for name, (run, to_np) in runners.items():
        err = np.max(np.abs(to_np(run()) - ref)) / np.max(np.abs(ref))
        print(f"  check {name:16} max relative error vs float64 closed form = {err:.1e}")
    times = {name: [] for name in runners}
    for i in range(3 + args.repeats):
        for name, (run, _) in runners.items():
            start = time.perf_counter()
            run()
            if i >= 3:
                times[name].append(time.perf_counter() - start)
    base = statistics.median(times["tapegrad eager"])
    for name, t in times.items():
        ms = 1e3 * statistics.median(t)
        print(f"  {name:16} {ms:8.3f} ms   ({ms / (1e3 * base):.2f}x tapegrad eager)")


if __name__ == "__main__":
    main()
