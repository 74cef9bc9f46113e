"""The compiler benchmarks of issue 6 that are built so far: W1 (MLP training step), W3 (fused elementwise
+ sum on 4M floats, forward + backward, with the machine's bandwidth bound) and W4 (1,000-op small-tensor
chain, forward + backward). Each runs in tapegrad eager, traced on numpy, traced on C, and in PyTorch eager
when installed; the runners take turns inside every repeat, medians are reported with the ratio to the best
peer. Missing peers are skipped with the pip command that adds them.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks [--repeats 7] [--only W3]
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
except ImportError:  # peers are optional
    torch = None

PEERS = {"torch": "pip install torch==2.13.0"}


def _median_times(runners: dict, repeats: int, warmup: int = 2) -> dict:
    times = {k: [] for k in runners}
    for i in range(warmup + repeats):
        for name, run in runners.items():
            t = time.perf_counter()
            run()
            if i >= warmup:
                times[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


# *** W3: sum(gelu_tanh(1.5x + 0.5) * sigmoid(x)), forward + backward, 4M floats ***


def _w3_tg(x):
    return (tg.nn.functional.gelu(1.5 * x + 0.5, approximate="tanh") * x.sigmoid()).sum()


def w3(n: int = 1 << 22):
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    fns = {"eager": _w3_tg, "numpy": tg.jit(_w3_tg, backend="numpy"), "c": tg.jit(_w3_tg, backend="c")}
    runners = {"tapegrad eager": lambda: _backward(fns["eager"], x),
               "tapegrad traced numpy": lambda: _backward(fns["numpy"], x),
               "tapegrad traced C": lambda: _backward(fns["c"], x)}
    if torch is not None:
        tx = torch.from_numpy(x)

        def run_torch():
            xx = tx.clone().requires_grad_(True)
            (torch.nn.functional.gelu(1.5 * xx + 0.5, approximate="tanh") * torch.sigmoid(xx)).sum().backward()
            return xx.grad

        runners["torch eager"] = run_torch
    return runners, "ms", lambda t: t * 1e3


def _backward(fn, *arrays):
    """loss = fn(*tensors); loss.backward(); the gradient of the first (a compiled fn runs its backward graph)."""
    ts = [tg.tensor(a, requires_grad=(i == 0)) for i, a in enumerate(arrays)]
    fn(*ts).backward()
    return ts[0].grad


def bandwidth_bound_ms(n: int = 1 << 22) -> tuple:
    """(GB/s of a large copy, ms W3 needs at that speed: read x once and write its gradient once)."""
    a = np.ones(1 << 24, np.float32)
    b = np.empty_like(a)
    best = min(_time(lambda: np.copyto(b, a)) for _ in range(5))
    gbs = 2 * a.nbytes / best / 1e9
    return gbs, 2 * 4 * n / (gbs * 1e9) * 1e3


def _time(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# *** W4: 1,000-op chain of small-tensor muls and adds, forward + backward ***


def _chain(x, a, b, ops=1000):
    for _ in range(ops // 2):
        x = x * a + b
    return x.sum()


def w4(size: int = 16, ops: int = 1000):
    r = np.random.default_rng(0)
    x = r.standard_normal((size, size)).astype(np.float32)
    a = (1 + 0.01 * r.standard_normal((size, size))).astype(np.float32)
    b = (0.01 * r.standard_normal((size, size))).astype(np.float32)
    g = {k: tg.jit(_chain, backend=k) for k in ("numpy", "c")}
    runners = {"tapegrad eager": lambda: _backward(_chain, x, a, b),
               "tapegrad traced numpy": lambda: _backward(g["numpy"], x, a, b),
               "tapegrad traced C": lambda: _backward(g["c"], x, a, b)}
    if torch is not None:
        ta, tb, tx = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(x)

        def run_torch():
            xx = tx.clone().requires_grad_(True)
            _chain(xx, ta, tb, ops).backward()
            return xx.grad

        runners["torch eager"] = run_torch
    return runners, "µs/op", lambda t: t * 1e6 / ops


# *** W1: MLP 784-512-512-10 training step, batch 128, ReLU, cross-entropy, SGD ***


def w1(batch: int = 128):
    r = np.random.default_rng(0)
    x = r.standard_normal((batch, 784)).astype(np.float32)
    y = r.integers(0, 10, batch)

    def tg_step():
        model = tg.nn.Sequential(tg.nn.Linear(784, 512), tg.nn.ReLU(), tg.nn.Linear(512, 512), tg.nn.ReLU(),
                                 tg.nn.Linear(512, 10))
        opt = tg.optim.SGD(model.parameters(), lr=0.01)

        def step(x, y):
            opt.zero_grad()
            loss = tg.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        return step

    tx, ty = tg.tensor(x), tg.tensor(y)
    eager, s_np, s_c = tg_step(), tg.function(tg_step(), backend="numpy"), tg.function(tg_step(), backend="c")
    runners = {
        "tapegrad eager": lambda: eager(tx, ty),
        "tapegrad traced numpy": lambda: s_np(tx, ty),
        "tapegrad traced C": lambda: s_c(tx, ty),
    }
    if torch is not None:
        model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                                    torch.nn.ReLU(), torch.nn.Linear(512, 10))
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        px, py = torch.from_numpy(x), torch.from_numpy(y)

        def run_torch():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(px), py).backward()
            opt.step()

        runners["torch eager"] = run_torch
    return runners, "steps/s", lambda t: 1 / t


WORKLOADS = {"W1": ("MLP 784-512-512-10 step, batch 128", w1), "W3": ("fused gelu*sigmoid sum, 4M floats, f+b", w3),
             "W4": ("1,000-op small-tensor chain, f+b", w4)}


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info

        return "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}" for i in
                         threadpool_info() if i.get("user_api") == "blas") or "unknown"
    except ImportError:
        return "unknown (pip install threadpoolctl)"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="tapegrad bench",
                                description="the compiler benchmarks: the workloads built so far, against installed peers")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--only", action="append", choices=sorted(WORKLOADS), help="run only these workloads")
    args = p.parse_args(argv)
    print(f"python {platform.python_version()}, numpy {np.__version__}, tapegrad {tg.__version__}, "
          f"{os.cpu_count()} cores, BLAS: {_blas()}")
    set_vars = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ]
    if set_vars:
        print(f"NOTE: {', '.join(set_vars)} set: numpy's BLAS is slowed; quote numbers run with "
              "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`")
    for peer, cmd in PEERS.items():
        if globals().get(peer) is None:
            print(f"skipped peer {peer}: not installed ({cmd})")
    for peer, cmd in (("jax", "pip install jax"), ("tensorflow", "pip install tensorflow"),
                      ("tinygrad", "pip install tinygrad")):
        print(f"skipped peer {peer}: not wired into this benchmark yet ({cmd} alone does not add it)")
    print()
    print(f"{'workload':<44} {'runner':<24} {'value':>12}  ratio to best peer")
    for key in args.only or sorted(WORKLOADS):
        title, make = WORKLOADS[key]
        runners, unit, conv = make()
        med = _median_times(runners, args.repeats)
        vals = {k: conv(t) for k, t in med.items()}
        peers = {k: t for k, t in med.items() if not k.startswith("tapegrad")}
        best = min(peers.values()) if peers else None
        for name, v in vals.items():
            ratio = f"{med[name] / best:.2f}x time" if best else "-"
            print(f"{key + ' ' + title:<44} {name:<24} {v:>9.2f} {unit:<7} {ratio}")
        if key == "W3":
            gbs, ms = bandwidth_bound_ms()
            print(f"{'':<44} {'bandwidth bound':<24} {ms:>9.2f} ms      (copy at {gbs:.1f} GB/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
