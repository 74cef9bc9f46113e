"""CPU time per call of one tapegrad runner of a workload, for A/B comparisons on a machine other processes keep
busy: wall-clock time then measures the other processes too, process CPU time much less so (run with
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1, since idle-spinning worker threads count as CPU time).

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python -m benchmarks.cpu_time W4 [c|numpy|eager|torch]

`torch` is PyTorch's eager runner (peers/torch_.py) on one intra-op thread: a reference measured the same way.

Calibrates the number of calls to about 0.2 s, then prints the median and minimum of 7 samples, wall and CPU, in
ms per call. Compare two versions by running this alternately in fresh processes, each with its own PYTHONPATH.
"""

from __future__ import annotations

import sys
import time


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    from benchmarks.peers import tapegrad_
    from benchmarks.workloads import WORKLOADS

    name, backend = argv[0], (argv[1] if len(argv) > 1 else "c")
    w = WORKLOADS[name]
    if backend == "torch":
        import torch

        from benchmarks.peers import torch_

        torch.set_num_threads(1)
        f = getattr(torch_, name.lower())(w.make_data(w.sizes), "eager")
    else:
        f = getattr(tapegrad_, name.lower())(w.make_data(w.sizes), None if backend == "eager" else backend)
    for _ in range(3):
        f()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        if time.perf_counter() - t0 > 0.2:
            break
        n *= 2
    wall, cpu = [], []
    for _ in range(7):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            f()
        wall.append((time.perf_counter() - t0) / n * 1e3)
        cpu.append((time.process_time() - c0) / n * 1e3)
    wall.sort()
    cpu.sort()
    print(f"{name} {backend}: wall median {wall[3]:.4f} ms (min {wall[0]:.4f}) | cpu median {cpu[3]:.4f} ms "
          f"(min {cpu[0]:.4f})")


if __name__ == "__main__":
    main()
