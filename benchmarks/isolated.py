"""The default way `python -m benchmarks` measures: every runner of every workload in a fresh process of its
own (benchmarks/child.py), as a user runs one framework, in rounds whose order alternates (forward, then
reversed), and the median over the processes of each process's median sample.

Why: in one shared process the peers lost up to half their speed (docs/performance.md, "Why one process
flattered us"): several runtimes' thread pools spin on the same two cores, and tapegrad's own OpenMP settings
leak into the others. Here the parent only starts children, reads their files and compares their answers.

A child whose samples ran while other processes kept more than `busy_cores` cores busy is run again (up to
`retries` times) and the quietest attempt kept; a row still busy after that is flagged in the table.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from benchmarks import load as machine_load
from benchmarks.harness import Row, check_against_reference, set_ratios

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The environment as the user started us, before tapegrad's C backend sets GOMP_SPINCOUNT and KMP_BLOCKTIME in
# os.environ (backends/c/compiler.py): a child must get the user's settings, not tapegrad's, or the peers' OpenMP
# runtimes would run with tapegrad's spin settings, which no user of theirs has.
_USER_ENV = dict(os.environ)


@dataclass
class Settings:
    tiny: bool = False
    repeats: int = 5  # timed samples per process
    warmup: int = 2  # untimed calls after the probe
    rounds: int = 2  # processes per runner, alternating order
    sample_s: float = 0.2  # the length of one timed sample
    retries: int = 1  # extra attempts of a process whose samples ran on a busy machine
    busy_cores: float = machine_load.BUSY_CORES
    timeout_s: float = 900.0  # a cold torch.compile of W2 takes minutes on 2 cores
    try_known_failures: bool = False
    threads: int | None = None  # None: every framework's default (one thread per core)
    wait_quiet_s: float = 0.0  # before each child, wait up to this long for the others to go below busy_cores


def thread_env(threads: int) -> dict:
    """Variables that hold every framework to `threads` threads: the OpenMP (torch, tapegrad's kernels), OpenBLAS
    (numpy) and MKL pools by their standard variables; TensorFlow through TAPEGRAD_BENCH_THREADS, which its
    module passes to tf.config.threading, and which also makes the child pin itself to that many cores (XLA's
    pool, jax.jit's, measured 1.8 cores busy despite its one-thread flag). tinygrad's queue has no setting."""
    env = {name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                           "TAPEGRAD_BENCH_THREADS")}
    if threads == 1:
        flags = _USER_ENV.get("XLA_FLAGS", "")
        env["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1".strip()
    return env


def child_env(threads: int | None = None) -> dict:
    env = dict(_USER_ENV)
    if threads is not None:
        env.update(thread_env(threads))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    return env


def _spawn(args: list, out_dir: str, timeout_s: float, threads: int | None = None) -> str | None:
    """Runs benchmarks.child; None when it wrote its file, else why not (a crash, a timeout)."""
    cmd = [sys.executable, "-m", "benchmarks.child", *args, out_dir]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=child_env(threads), capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return f"the process ran past {timeout_s:.0f} s and was stopped"
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return f"the process exited with status {proc.returncode}: {tail}"
    return None


def describe(name: str, timeout_s: float = 300.0, threads: int | None = None):
    """A framework as its own process sees it (peers.Framework without a module): status, version, runners,
    known failures and the BLAS it loads."""
    from benchmarks.peers import from_description

    with tempfile.TemporaryDirectory(prefix="tg-bench-") as out:
        problem = _spawn(["describe", name], out, timeout_s, threads)
        if problem:
            return from_description({"name": name, "status": "failed", "message": f"describing it failed: {problem}"})
        with open(os.path.join(out, "describe.json")) as f:
            return from_description(json.load(f))


def run_child(spec: dict, timeout_s: float, threads: int | None = None) -> tuple:
    """(result dict, probe {name: array} or None) of one child process."""
    with tempfile.TemporaryDirectory(prefix="tg-bench-") as out:
        problem = _spawn(["run", json.dumps(spec)], out, timeout_s, threads)
        if problem:
            return {"status": "failed", "error": f"process: {problem}"}, None
        with open(os.path.join(out, "result.json")) as f:
            result = json.load(f)
        probe_path = os.path.join(out, "probe.npz")
        probe = None
        if os.path.exists(probe_path):
            with np.load(probe_path) as npz:
                probe = {k: npz[k].astype(np.float64) for k in npz.files}
        return result, probe


def _quietest_attempt(spec: dict, settings: Settings) -> tuple:
    """Runs the child, again while its samples were taken on a busy machine; keeps the quietest attempt."""
    best = None
    for attempt in range(1 + settings.retries):
        if attempt:
            time.sleep(1.0)  # let a short burst of someone else's work pass
        waited = _wait_for_quiet(settings)
        result, probe = run_child(spec, settings.timeout_s, settings.threads)
        result["waited_for_quiet_s"] = waited
        if result["status"] != "ok":
            return result, probe
        if best is None or (result.get("other_cores") or 0) < (best[0].get("other_cores") or 0):
            best = (result, probe)
        if not machine_load.is_busy(result.get("other_cores"), settings.busy_cores):
            break
    return best


def _wait_for_quiet(settings: Settings) -> float:
    """Seconds spent waiting (in 1 s looks) for other processes to use at most busy_cores, up to wait_quiet_s."""
    start = time.perf_counter()
    while time.perf_counter() - start < settings.wait_quiet_s:
        if not machine_load.is_busy(machine_load.quiet_now(1.0), settings.busy_cores):
            break
    return time.perf_counter() - start


def _rows(workload, frameworks: list, settings: Settings) -> list:
    rows = []
    for fw in frameworks:
        for runner in fw.runners:
            row = Row(runner, fw.name)
            reason = fw.known_failures.get(workload.key)
            if reason and not settings.try_known_failures:
                row.status, row.error = "skipped", reason
            rows.append(row)
    return rows


def _record(row: Row, result: dict, probe, probes: dict) -> None:
    if result["status"] != "ok":
        row.status, row.error, row.detail = "failed", result.get("error", "?"), result.get("traceback", "")
        return
    if row.first_call_s is None:
        row.first_call_s = result["first_call_s"]
    probes.setdefault(row.runner, probe)  # the first process's answer is the one checked
    row.times.extend(result["times_s"])
    row.process_medians.append(statistics.median(result["times_s"]))
    row.other_cores.append(result.get("other_cores"))
    row.pids.append(result.get("pid"))


def run_workload(workload, sizes: dict, frameworks: list, settings: Settings, log=None) -> list:
    """Rows for every runner of every described framework, each measured in `settings.rounds` processes."""
    rows = _rows(workload, frameworks, settings)
    active = [r for r in rows if r.status == "ok"]
    probes = {}
    for round_index in range(settings.rounds):
        order = active if round_index % 2 == 0 else active[::-1]
        for row in order:
            if row.status != "ok":
                continue  # it failed in an earlier round
            spec = {"workload": workload.key, "tiny": settings.tiny, "sizes": sizes, "framework": row.framework,
                    "runner": row.runner, "repeats": settings.repeats, "warmup": settings.warmup,
                    "sample_s": settings.sample_s}
            result, probe = _quietest_attempt(spec, settings)
            _record(row, result, probe, probes)
            if log:
                log(workload.key, row, result)
    data = workload.make_data(sizes)
    check_against_reference(workload, data, rows, probes)
    _summarise(workload, sizes, rows, settings)
    return rows


def _summarise(workload, sizes: dict, rows: list, settings: Settings) -> None:
    for row in rows:
        if row.status == "ok" and row.process_medians:
            row.median_s = statistics.median(row.process_medians)
            row.value = workload.value(row.median_s, sizes)
            known = [c for c in row.other_cores if c is not None]
            row.busy = bool(known) and machine_load.is_busy(statistics.median(known), settings.busy_cores)
    set_ratios(rows)
