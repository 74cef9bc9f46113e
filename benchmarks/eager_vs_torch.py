"""tapegrad eager against PyTorch eager, in one process, interleaved: the ratio the machine's load leaves alone.

For each workload asked for (workloads.py; the runners of peers/tapegrad_.py with backend None and of
peers/torch_.py with "eager"), the two take turns one call at a time, `--calls` calls each after a warm-up that
waits for the eager C kernels to be built; prints the median time per call of each and their ratio. On a shared
machine the absolute times follow the others' load; both frameworks see the same load here, so the ratio is
what to compare between checkouts (docs/performance.md, issue 17).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=$PWD python -m benchmarks.eager_vs_torch --only W3
"""

from __future__ import annotations

import argparse
import statistics
import time

from .workloads import WORKLOADS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", help="a workload key (W1 ... W7); repeat for several; default W3")
    ap.add_argument("--calls", type=int, default=15)
    args = ap.parse_args()
    from tapegrad.backends.c import eager

    from .peers import tapegrad_, torch_

    for key in args.only or ["W3"]:
        w = WORKLOADS[key]
        data = w.make_data(w.sizes)
        runs = {"tapegrad": getattr(tapegrad_, key.lower())(data, None),
                "torch": getattr(torch_, key.lower())(data, "eager")}
        for run in runs.values():  # warm up; the first tapegrad calls queue their C kernels' builds
            run()
        eager.wait()
        for run in runs.values():
            run()
        times: dict = {name: [] for name in runs}
        for _ in range(args.calls):
            for name, run in runs.items():
                t0 = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        print(f"{key}: tapegrad eager {med['tapegrad']:.1f} ms/call, torch eager {med['torch']:.1f} ms/call, "
              f"tapegrad/torch {med['tapegrad'] / med['torch']:.2f}x  (median of {args.calls} calls each, interleaved)")


if __name__ == "__main__":
    main()
