"""A 1,000-op chain of small-tensor muls and adds, forward + backward: tapegrad eager vs PyTorch eager.

Measures per-op overhead (the tensors are tiny, so the arithmetic is almost free). Both frameworks run in
one process on the same data, in alternating repeats; medians are reported as µs per op. A diagnostic: sharing
the process can slow either framework (docs/performance.md); `python -m benchmarks --only W4` measures the same
chain with each runner in a process of its own.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.chain [--ops 1000] [--size 16]
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
except ImportError:  # the comparison is optional: tapegrad alone still runs
    torch = None


def _inputs(size: int, seed: int = 0):
    """x, a, b as float32 numpy arrays; a near 1 and b near 0 so 500 rounds of x * a + b stay finite."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((size, size)).astype(np.float32)
    a = (1.0 + 0.01 * rng.standard_normal((size, size))).astype(np.float32)
    b = (0.01 * rng.standard_normal((size, size))).astype(np.float32)
    return x, a, b


def _chain(x, a, b, ops: int):
    """ops / 2 rounds of `x = x * a + b`: ops elementwise ops in all, then a sum to get a scalar."""
    for _ in range(ops // 2):
        x = x * a + b
    return x.sum()


def run_tapegrad(arrays, ops: int, backward: bool):
    x, a, b = (tg.tensor(v, requires_grad=backward) for v in arrays)
    start = time.perf_counter()
    out = _chain(x, a, b, ops)
    if backward:
        out.backward()
    elapsed = time.perf_counter() - start
    return elapsed, (x.grad.numpy() if backward else out.item())


def run_torch(arrays, ops: int, backward: bool):
    x, a, b = (torch.tensor(v, requires_grad=backward) for v in arrays)
    start = time.perf_counter()
    out = _chain(x, a, b, ops)
    if backward:
        out.backward()
    elapsed = time.perf_counter() - start
    return elapsed, (x.grad.numpy() if backward else out.item())


def measure(runners: dict, arrays, ops: int, backward: bool, repeats: int, warmup: int = 3) -> dict:
    """Median µs per op for each runner; the runners take turns inside every repeat (same machine state)."""
    times = {name: [] for name in runners}
    for i in range(warmup + repeats):
        for name, run in runners.items():
            with tg.enable_grad() if backward else tg.no_grad():
                elapsed, _ = run(arrays, ops, backward)
            if i >= warmup:
                times[name].append(elapsed)
    return {name: 1e6 * statistics.median(t) / ops for name, t in times.items()}


def _check_gradients(arrays, ops: int) -> float:
    """Largest relative difference between tapegrad's and PyTorch's d(sum)/dx: both must compute the same thing."""
    _, g_tg = run_tapegrad(arrays, ops, True)
    _, g_torch = run_torch(arrays, ops, True)
    return float(np.max(np.abs(g_tg - g_torch)) / max(np.max(np.abs(g_torch)), 1e-30))


def _environment() -> str:
    parts = [f"python {platform.python_version()}", f"numpy {np.__version__}", f"tapegrad {tg.__version__}"]
    if torch is not None:
        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    unset = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ]
    if unset:
        parts.append("NOTE: " + ", ".join(unset) + " set (they slow numpy; see benchmarks/README.md)")
    return ", ".join(parts)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000, help="elementwise ops in the chain (default 1000)")
    parser.add_argument("--size", type=int, default=16, help="tensors are size x size float32 (default 16)")
    parser.add_argument("--repeats", type=int, default=21, help="timed repeats per framework (default 21)")
    args = parser.parse_args(argv)
    arrays = _inputs(args.size)
    runners = {"tapegrad": run_tapegrad}
    if torch is None:
        print('PyTorch is not installed; timing tapegrad alone. For the comparison: pip install "torch==2.13.0"')
    else:
        runners["torch"] = run_torch

    print(
        f"chain of {args.ops} ops (x = x * a + b) on {args.size}x{args.size} float32, "
        f"median of {args.repeats} alternating repeats"
    )
    print(_environment())
    if torch is not None:
        print(f"gradient check: max relative difference tapegrad vs torch = {_check_gradients(arrays, args.ops):.2e}")
    print(f"{'':18}" + "".join(f"{name:>12}" for name in runners) + ("   tapegrad/torch" if torch else ""))
    for label, backward in (("forward", False), ("forward+backward", True)):
        us = measure(runners, arrays, args.ops, backward, args.repeats)
        row = f"{label:18}" + "".join(f"{us[name]:9.2f} µs" for name in runners)
        if torch is not None:
            row += f"   {us['tapegrad'] / us['torch']:14.2f}x"
        print(row + "   (per op)")


if __name__ == "__main__":
    main()
