"""Why one shared process slowed the peers: times one runner in this process under one condition, to be compared
with the same runner alone (docs/performance.md, "Why one process flattered us").

    python -m benchmarks.shared W1 "jax.jit" alone          # only the target's framework imported
    python -m benchmarks.shared W1 "jax.jit" imported       # every framework imported and its runners built, idle
    python -m benchmarks.shared W1 "jax.jit" alternating    # as the old suite: one call of every other runner
                                                            # before each timed call of the target
    python -m benchmarks.shared W1 "jax.jit" alternating tapegrad,jax   # only these frameworks beside it

Environment variables (OMP_WAIT_POLICY, GOMP_SPINCOUNT, thread counts) are the caller's: set them on the command
line to test one cause at a time. Prints one JSON line: the target's median seconds per call and the other
processes' cores during the timing.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from benchmarks import load as machine_load
from benchmarks.peers import FRAMEWORKS, load
from benchmarks.workloads import WORKLOADS


def _runners(workload, data, names: list) -> dict:
    runs = {}
    for name in names:
        fw = load(name)
        if fw.status != "ok":
            continue
        for runner, variant in fw.module.VARIANTS.items():
            if workload.key in getattr(fw.module, "known_failures", dict)():
                continue
            run = getattr(fw.module, workload.key.lower())(data, variant)
            for _ in range(3):  # compile and warm up, as the harness does before timing
                run()
            runs[runner] = run
    return runs


def _framework_of(runner: str) -> str:
    for name in FRAMEWORKS:
        if runner.startswith(name) or (name == "tensorflow" and runner.startswith("tf.")):
            return name
    raise SystemExit(f"unknown runner {runner!r}")


def measure(key: str, target: str, condition: str, frameworks: list, samples: int = 15) -> dict:
    workload = WORKLOADS[key]
    data = workload.make_data(workload.sizes)
    own = _framework_of(target)
    names = [own] if condition == "alone" else [own, *(n for n in frameworks if n != own)]
    runs = _runners(workload, data, names)
    others = [r for name, r in runs.items() if name != target] if condition == "alternating" else []
    times, before = [], machine_load.snapshot()
    for _ in range(samples):
        for other in others:
            other()
        start = time.perf_counter()
        runs[target]()
        times.append(time.perf_counter() - start)
    after = machine_load.snapshot()
    return {"workload": key, "runner": target, "condition": condition, "frameworks": names,
            "median_s": statistics.median(times),
            "other_cores": machine_load.other_cores(before, after)}


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5) or sys.argv[3] not in ("alone", "imported", "alternating"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    names = sys.argv[4].split(",") if len(sys.argv) == 5 else list(FRAMEWORKS)
    print(json.dumps(measure(sys.argv[1], sys.argv[2], sys.argv[3], names)))
