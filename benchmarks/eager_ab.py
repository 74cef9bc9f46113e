"""tapegrad eager with its ops on numpy against eager on the C kernels, in one process, interleaved.

For each workload of the suite (workloads.py, tapegrad eager's runner from peers/tapegrad_.py), the two eager
backends take turns (`backends.base.install_eager`), `--repeats` rounds of samples of about `--sample-s`; prints the
median time per call of each and their ratio. One process, so both see the same machine load: a comparison of the
two, not a number to set beside another framework's (use `python -m benchmarks` for that).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=$PWD python -m benchmarks.eager_ab --only W3
"""

from __future__ import annotations

import argparse
import statistics
import time

from .workloads import WORKLOADS


def _sample(fn, seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - t0
        if el >= seconds:
            return el / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--sample-s", type=float, default=0.3)
    args = ap.parse_args()
    from tapegrad.backends import base
    from tapegrad.backends.c import eager

    from .peers import tapegrad_

    for key in args.only or sorted(WORKLOADS):
        w = WORKLOADS[key]
        data = w.make_data(w.sizes)
        run = getattr(tapegrad_, key.lower())(data, None)
        for name in ("c", "numpy"):  # warm up both; on C, wait for the kernels the first calls queued
            base.install_eager(name)
            run()
            eager.wait()
            run()
        times = {"numpy": [], "c": []}
        for _ in range(args.repeats):
            for name in times:
                base.install_eager(name)
                times[name].append(_sample(run, args.sample_s))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{key}: eager on numpy {med['numpy'] * 1e3:.3f} ms/call, on C {med['c'] * 1e3:.3f} ms/call, "
              f"C/numpy time {med['c'] / med['numpy']:.2f}x  (samples, ms: numpy "
              f"{[round(t * 1e3, 2) for t in times['numpy']]}, C {[round(t * 1e3, 2) for t in times['c']]})")


if __name__ == "__main__":
    main()
