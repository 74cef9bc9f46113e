"""Eager vs traced (tg.jit on the numpy plan executor), in one run: the MLP training step (784-512-512-10,
batch 128, SGD) and the 1,000-op chain (forward + backward). Medians of alternating repeats.

    python -m benchmarks.graph [--repeats 7]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np

import tapegrad as tg
from benchmarks.chain import _chain, _inputs


def _mlp(seed=0):
    r = np.random.default_rng(seed)
    sizes = [784, 512, 512, 10]
    params = []
    for a, b in itertools.pairwise(sizes):
        params.append(tg.nn.Parameter(tg.tensor((r.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32))))
        params.append(tg.nn.Parameter(tg.zeros(b)))
    return params


def _step_fn(params, lr=0.01):
    def step(x, y):
        for p in params:
            p.grad = None
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i + 2 < len(params):
                h = tg.nn.functional.relu(h)
        loss = tg.nn.functional.cross_entropy(h, y)
        loss.backward()
        with tg.no_grad():
            for p in params:
                p -= lr * p.grad
        return loss

    return step


def _time(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def bench_mlp(repeats):
    r = np.random.default_rng(1)
    x = tg.tensor(r.standard_normal((128, 784)).astype(np.float32))
    y = tg.tensor(r.integers(0, 10, 128))
    eager = _step_fn(_mlp())
    traced = tg.jit(_step_fn(_mlp()))
    traced(x, y)  # trace once
    te, tt = [], []
    for _ in range(repeats):
        te.append(_time(eager, x, y))
        tt.append(_time(traced, x, y))
    return statistics.median(te), statistics.median(tt)


def bench_chain(repeats, ops=1000, size=16):
    arrays = _inputs(size)

    def fwd_bwd(x, a, b):
        x = x.detach().requires_grad_()
        _chain(x, a, b, ops).backward()
        return x.grad

    x, a, b = (tg.tensor(v) for v in arrays)
    traced = tg.jit(fwd_bwd)
    np.testing.assert_allclose(traced(x, a, b).numpy(), fwd_bwd(x, a, b).numpy(), rtol=1e-4, atol=1e-5)
    te, tt = [], []
    for _ in range(repeats):
        te.append(_time(fwd_bwd, x, a, b))
        tt.append(_time(traced, x, a, b))
    return statistics.median(te) / ops, statistics.median(tt) / ops


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    print(f"numpy {np.__version__}, tapegrad {tg.__version__}; medians of {args.repeats} alternating repeats")
    print(f"{'workload':<40}{'eager':>12}{'traced':>12}{'speed-up':>10}")
    e, t = bench_mlp(args.repeats)
    print(f"{'MLP step 784-512-512-10, batch 128':<40}{e * 1e3:>9.2f} ms{t * 1e3:>9.2f} ms{e / t:>9.2f}x")
    e, t = bench_chain(args.repeats)
    print(f"{'1,000-op chain fwd+bwd (per op)':<40}{e * 1e6:>9.2f} µs{t * 1e6:>9.2f} µs{e / t:>9.2f}x")


if __name__ == "__main__":
    main()
