"""Runs one workload in every loaded framework: builds each runner, checks its first outputs against tapegrad
eager's, then times all runners taking turns inside every repeat, and reduces the times to medians.

A runner that fails to build, to run or to agree is reported in its row; nothing here stops the suite.
"""

from __future__ import annotations

import gc
import re
import statistics
import time
import traceback
from dataclasses import dataclass, field

from benchmarks.workloads import Workload, relative_difference

REFERENCE = "tapegrad eager"


@dataclass
class Row:
    """One runner's result on one workload. `status`: "ok"; "failed" with `error` saying where and why; or
    "skipped" with `error` giving the reason (a failure the framework's module knows about, not tried)."""

    runner: str
    framework: str
    status: str = "ok"
    error: str = ""
    detail: str = ""  # the last frames of the traceback, for the JSON
    first_call_s: float | None = None  # the first call alone: tracing and compiling included
    check_error: float | None = None  # relative difference from tapegrad eager's outputs
    check_ok: bool | None = None
    times: list = field(default_factory=list)
    median_s: float | None = None
    value: float | None = None  # the median in the workload's unit
    ratio: float | None = None  # median time / the best peer's median time
    process_medians: list = field(default_factory=list)  # one per process (isolated runs)
    other_cores: list = field(default_factory=list)  # other processes' cores during each kept process's samples
    pids: list = field(default_factory=list)  # the processes that measured it (isolated runs)
    busy: bool = False  # the median of other_cores was above benchmarks.load.BUSY_CORES

    @property
    def is_peer(self) -> bool:
        return self.framework != "tapegrad"

    def fail(self, stage: str, exc: BaseException) -> None:
        self.status = "failed"
        self.error = f"{stage}: {type(exc).__name__}: {_summary(exc)}"
        self.detail = "".join(traceback.format_exception(exc, limit=-3))


def _summary(exc: BaseException) -> str:
    """The line of an error message that says what went wrong. Most messages lead with it; TensorFlow's and
    torch.compile's lead with a header ending in ':' ("in user code:", "backend='inductor' raised:") and name
    the underlying error on a later line, which is taken instead."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return "(no message)"
    if lines[0].endswith(":"):
        cause = next((line for line in lines[1:] if re.match(r"[\w.]*(Error|Exception)\b", line)), None)
        return cause or " ".join(lines[:2])
    return lines[0]


class _FirstCallTimer:
    """Wraps a runner and remembers how long its first call took (the compile, for the compiling frameworks)."""

    def __init__(self, run):
        self.run, self.first_s = run, None

    def __call__(self):
        start = time.perf_counter()
        out = self.run()
        if self.first_s is None:
            self.first_s = time.perf_counter() - start
        return out


def build_runners(workload: Workload, data: dict, frameworks: list, try_known_failures: bool = False) -> tuple:
    """(rows, {runner name: run}, {runner name: probe}) for every variant of every loaded framework. A workload
    the framework's module lists in known_failures() is skipped with its reason unless `try_known_failures`."""
    rows, runs, probes = [], {}, {}
    for fw in frameworks:
        known = fw.module.known_failures() if hasattr(fw.module, "known_failures") else {}
        for runner, variant in fw.module.VARIANTS.items():
            row = Row(runner, fw.name)
            rows.append(row)
            if workload.key in known and not try_known_failures:
                row.status, row.error = "skipped", known[workload.key]
                continue
            try:
                run = getattr(fw.module, workload.key.lower())(data, variant)
            except Exception as e:  # noqa: BLE001  one framework's failure is its row's news, not the run's end
                row.fail("setup", e)
                continue
            timed = _FirstCallTimer(run)
            try:
                probes[runner] = workload.probe(timed, fw.module.to_numpy)
            except Exception as e:  # noqa: BLE001
                row.fail("first call", e)
                continue
            row.first_call_s = timed.first_s
            runs[runner] = run
    return rows, runs, probes


def check_against_reference(workload: Workload, data: dict, rows: list, probes: dict) -> None:
    """Marks each row with its relative difference from tapegrad eager's outputs (no mark without them), and
    tapegrad eager's own row with its difference from the float64 numpy result where the workload has one."""
    ref = probes.get(REFERENCE)
    if ref is None:
        return
    for row in rows:
        if row.runner == REFERENCE:
            if workload.exact is not None:
                row.check_error = relative_difference(ref, workload.exact(data))
                row.check_ok = row.check_error <= workload.tolerance
        elif row.runner in probes:
            row.check_error = relative_difference(probes[row.runner], ref)
            row.check_ok = row.check_error <= workload.tolerance


def time_alternating(runs: dict, repeats: int, warmup: int) -> tuple:
    """({runner: [seconds]}, {runner: exception}). Every round calls each runner once; the starting runner moves
    by one each round, so no runner always follows the same neighbour. Garbage is collected between rounds, so
    one framework's garbage is not collected on another's clock. The first `warmup` rounds are not kept."""
    names = list(runs)
    times = {name: [] for name in names}
    failed = {}
    for i in range(warmup + repeats):
        gc.collect()
        shift = i % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            if name in failed:
                continue
            start = time.perf_counter()
            try:
                runs[name]()
            except Exception as e:  # noqa: BLE001
                failed[name] = e
                continue
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    return times, failed


def summarise(workload: Workload, sizes: dict, rows: list, times: dict, failed: dict) -> None:
    """Fills medians, values and ratios in. The best peer is the fastest peer row that ran and agreed."""
    for row in rows:
        if row.runner in failed:
            row.fail("timed call", failed[row.runner])
        elif row.status == "ok" and times.get(row.runner):
            row.times = times[row.runner]
            row.median_s = statistics.median(row.times)
            row.value = workload.value(row.median_s, sizes)
    set_ratios(rows)


def set_ratios(rows: list) -> None:
    best = best_peer(rows)
    for row in rows:
        if best is not None and row.median_s is not None:
            row.ratio = row.median_s / best.median_s


def best_peer(rows: list) -> Row | None:
    fair = [r for r in rows if r.is_peer and r.median_s is not None and r.check_ok is not False]
    return min(fair, key=lambda r: r.median_s, default=None)


def run_workload(workload: Workload, sizes: dict, frameworks: list, repeats: int, warmup: int,
                 try_known_failures: bool = False) -> list:
    data = workload.make_data(sizes)
    rows, runs, probes = build_runners(workload, data, frameworks, try_known_failures)
    check_against_reference(workload, data, rows, probes)
    times, failed = time_alternating(runs, repeats, warmup)
    summarise(workload, sizes, rows, times, failed)
    return rows
