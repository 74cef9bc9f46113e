"""Where eager ops should leave numpy for the C kernels (backends/c/eager.py LIMITS and PARALLEL).

For each family (cheap elementwise, costly elementwise, where, reductions) and sizes 16..16M elements, times in one
process, interleaved, medians of --repeats samples: the numpy reference, the C kernel on one thread and the C
kernel split across cores. Prints the per-call times and, per family, the smallest size from which the kernel
wins and from which splitting it wins.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=$PWD python -m benchmarks.eager_threshold
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _time(fn, budget: float = 0.02) -> float:
    """Seconds per call of fn, over about `budget` seconds."""
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - t0
        if el >= budget:
            return el / n


def cases(p):
    """family -> list of (label, impl, args, kwargs); impl has .reference (numpy)."""
    P = p
    return {
        "cheap": [("add", P["add"], 2, {}), ("mul by 0-d", P["mul"], "scalar", {}), ("div", P["div"], 2, {})],
        "costly": [("tanh", P["tanh"], 1, {}), ("exp", P["exp"], 1, {})],
        # where on a random mask (ReLU's): numpy's loop branches on each element and mispredicts half of them
        "select": [("where", P["where"], "select", {})],
        "reduce": [("sum all", P["sum"], 1, {"axes": None, "keepdim": False})],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--max-log2", type=int, default=24)
    ap.add_argument("--ops", help="comma-separated op labels to time (default: all), e.g. where,tanh")
    args = ap.parse_args()
    import tapegrad  # noqa: F401
    from tapegrad.backends.c import eager
    from tapegrad.primitives import PRIMITIVES

    eager.SYNC = True
    saved = dict(eager.LIMITS), dict(eager.PARALLEL)
    for k in eager.LIMITS:
        eager.LIMITS[k] = 0
    rng = np.random.default_rng(0)
    sizes = [1 << e for e in range(4, args.max_log2 + 1, 2)]
    print(f"{'family':7} {'op':11} {'n':>9} {'numpy us':>10} {'C 1 thr':>10} {'C split':>10}")
    for fam, items in cases(PRIMITIVES).items():
        for label, prim, arity, kw in items:
            if args.ops and label not in args.ops.split(","):
                continue
            wins, split_wins = None, None
            for n in sizes:
                x = rng.standard_normal(n).astype(np.float32) + 2
                y = rng.standard_normal(n).astype(np.float32) + 2
                if arity == "scalar":
                    ops = (x, np.array(1.5, np.float32))
                elif arity == "select":
                    ops = (y < 2, np.array(0, np.float32), x)
                else:
                    ops = (x, y)[:arity]
                if "axes" in kw:
                    kw = {"axes": (0,), "keepdim": False}
                ref, impl = prim.impl.reference, prim.impl
                impl(*ops, **kw)  # build the kernel
                t = {"numpy": [], "one": [], "split": []}
                for _ in range(args.repeats):
                    t["numpy"].append(_time(lambda: ref(*ops, **kw)))
                    eager.PARALLEL[fam] = 1 << 62
                    t["one"].append(_time(lambda: impl(*ops, **kw)))
                    eager.PARALLEL[fam] = 0
                    t["split"].append(_time(lambda: impl(*ops, **kw)))
                med = {k: statistics.median(v) * 1e6 for k, v in t.items()}
                best_c = min(med["one"], med["split"])
                if wins is None and best_c < med["numpy"]:
                    wins = n
                if split_wins is None and med["split"] < med["one"]:
                    split_wins = n
                print(f"{fam:7} {label:11} {n:>9} {med['numpy']:>10.2f} {med['one']:>10.2f} {med['split']:>10.2f}")
            print(f"   -> {label}: C faster than numpy from {wins}; splitting across cores faster from {split_wins}")
    eager.LIMITS.update(saved[0])
    eager.PARALLEL.update(saved[1])


if __name__ == "__main__":
    main()
