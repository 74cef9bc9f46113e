"""One runner on one workload in a process of its own: what `benchmarks/isolated.py` starts for every
measurement, so that no other framework's thread pools, allocator or import side effects share the process.

    python -m benchmarks.child describe FRAMEWORK OUT_DIR   # version, runners, known failures -> OUT_DIR/describe.json
    python -m benchmarks.child run SPEC_JSON OUT_DIR         # -> OUT_DIR/result.json and OUT_DIR/probe.npz

The spec names the workload, its sizes, the framework and runner, and the timing settings. The steps are the
same in every child: make the shared numpy inputs (seeded), build the runner, probe it (its first call, timed
apart: tracing and compiling), `warmup` untimed calls, calibrate the calls per sample so that one sample lasts
about `sample_s`, then `repeats` timed samples, with the other processes' CPU use recorded over them.
Results go back as files rather than through a pipe, so a framework printing to stdout cannot corrupt them.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback

import numpy as np

from benchmarks import load as machine_load


def _write_json(out_dir: str, name: str, payload: dict) -> None:
    with open(os.path.join(out_dir, name), "w") as f:
        json.dump(payload, f, default=lambda o: o.item() if hasattr(o, "item") else str(o))


def _blas() -> list:
    from benchmarks import machine

    return machine.blas_libraries()


def describe(framework: str, out_dir: str) -> int:
    from benchmarks.peers import load

    fw = load(framework)
    payload = {"name": fw.name, "status": fw.status, "message": fw.message, "version": fw.version}
    if fw.status == "ok":
        known = fw.module.known_failures() if hasattr(fw.module, "known_failures") else {}
        payload.update(runners=list(fw.module.VARIANTS), known_failures=known, blas=_blas())
    _write_json(out_dir, "describe.json", payload)
    return 0


def _calibrate(run, sample_s: float) -> int:
    """Calls per sample, from at least three calls or 0.1 s of them, so that a sample lasts about sample_s."""
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < 0.1:
        run()
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    return max(1, round(sample_s / per_call))


def _timed_samples(run, repeats: int, calls: int) -> list:
    """Seconds per call of each sample. Garbage is collected before each sample, never inside one."""
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        for _ in range(calls):
            run()
        times.append((time.perf_counter() - start) / calls)
    return times


def _probe_and_time(spec: dict, result: dict, out_dir: str) -> None:
    from benchmarks.harness import _FirstCallTimer
    from benchmarks.peers import load
    from benchmarks.workloads import WORKLOADS

    stage = "import"
    fw = load(spec["framework"])
    if fw.status != "ok":
        raise RuntimeError(fw.message)
    result["version"] = fw.version
    workload = WORKLOADS[spec["workload"]]
    sizes = spec.get("sizes") or (workload.tiny if spec["tiny"] else workload.sizes)
    data = workload.make_data(sizes)
    result["stage"] = stage = "setup"
    run = getattr(fw.module, workload.key.lower())(data, fw.module.VARIANTS[spec["runner"]])
    result["stage"] = stage = "first call"
    timed = _FirstCallTimer(run)
    probe = workload.probe(timed, fw.module.to_numpy)
    result["first_call_s"] = timed.first_s
    np.savez(os.path.join(out_dir, "probe.npz"), **{k: np.asarray(v) for k, v in probe.items()})
    result["stage"] = stage = "timed call"
    for _ in range(spec["warmup"]):
        run()
    calls = _calibrate(run, spec["sample_s"])
    before = machine_load.snapshot()
    result["times_s"] = _timed_samples(run, spec["repeats"], calls)
    after = machine_load.snapshot()
    result.update(calls_per_sample=calls, other_cores=machine_load.other_cores(before, after),
                  own_cores=machine_load.own_cores(before, after), status="ok")
    result.pop("stage")


def run(spec: dict, out_dir: str) -> int:
    from benchmarks.harness import _summary

    result = {"status": "failed", "stage": "import", "pid": os.getpid(), "load_average_start": machine_load.load_average()}
    try:
        _probe_and_time(spec, result, out_dir)
    except Exception as e:  # noqa: BLE001  the failure is this row's news; the parent reports it
        result["error"] = f"{result['stage']}: {type(e).__name__}: {_summary(e)}"
        result["traceback"] = "".join(traceback.format_exception(e, limit=-3))
    _write_json(out_dir, "result.json", result)
    return 0


def _hold_to_threads() -> None:
    """Under `--threads N`, pins this process to N of its cores, before any framework is imported: XLA's CPU
    pool (jax.jit) ignores its one-thread flag here and sizes itself from the cores it may run on."""
    threads = os.environ.get("TAPEGRAD_BENCH_THREADS")
    if threads and hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, cores[: max(1, int(threads))])


def main(argv: list) -> int:
    _hold_to_threads()
    if len(argv) == 3 and argv[0] == "describe":
        return describe(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "run":
        return run(json.loads(argv[1]), argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
