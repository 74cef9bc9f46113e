"""Runs the compare tasks in each framework: loads adapters lazily, checks answers, times, counts lines.

Depends on tasks.py and the adapter modules (imported only when their framework is asked for and installed);
called by tapegrad/compare/__init__.py (the `tapegrad compare` command) and by the tests.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import statistics
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .tasks import TASKS_BY_NAME, Caught

# name -> (adapter module, the peer's import name, the pip command that adds it)
FRAMEWORKS = {
    "tapegrad": ("tapegrad_", "tapegrad", "pip install tapegrad"),
    "torch": ("torch_", "torch", "pip install torch"),
    "tensorflow": ("tensorflow_", "tensorflow", "pip install tensorflow-cpu"),
    "jax": ("jax_", "jax", "pip install jax jaxlib"),
    "tinygrad": ("tinygrad_", "tinygrad", "pip install tinygrad  (its CPU backend also needs clang)"),
    "autograd": ("autograd_", "autograd", "pip install autograd"),
}

TARGET_SAMPLE_S = 0.005  # each timed sample repeats the step until it lasts about this long

# compare's timings are a side product of checking answers: every framework shares this one process (their
# thread pools compete for the same cores, which slowed the peers by up to half in the benchmarks) and samples
# last milliseconds. Said wherever a time is shown, so nobody quotes them as benchmarks.
INDICATIVE = ("Times are indicative only: every framework runs in this one process, with samples of about 5 ms, "
              "which can slow some frameworks by up to 2x; for speed comparisons to quote run `python -m benchmarks` "
              "from a checkout (each framework in a process of its own).")


@dataclass
class Result:
    """One task in one framework. status: ok | caught | wrong | error | no idiom."""

    task: str
    framework: str
    status: str
    note: str = ""
    agrees_tapegrad: bool | None = None
    agrees_fd: bool | None = None
    seconds: float | None = None
    lines: int | None = None
    outputs: list = field(default_factory=list, repr=False)

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("outputs")
        return d


@dataclass
class Missing:
    framework: str
    reason: str
    pip: str


def load_adapters(names):
    """Imports the adapter of each named framework whose package is installed: ({name: module}, [Missing])."""
    adapters, missing = {}, []
    for name in names:
        module_name, peer, pip = FRAMEWORKS[name]
        if importlib.util.find_spec(peer) is None:
            missing.append(Missing(name, f"{peer} is not installed", pip))
            continue
        try:
            adapters[name] = importlib.import_module(f"{__package__}.{module_name}")
        except Exception as e:  # a broken install must not stop the others
            missing.append(Missing(name, f"importing {peer} failed: {_first_line(e)}", pip))
    return adapters, missing


def _first_line(err: BaseException, limit: int = 160) -> str:
    text = str(err).strip().splitlines()
    line = f"{type(err).__name__}: {text[0] if text else ''}"
    return line if len(line) <= limit else line[: limit - 3] + "..."


def count_lines(fn) -> int:
    """Lines of user code in a task function: no blanks, comments, docstrings, nor the harness's own lines
    (its `def`, the inner `def run():` and the final `return run`)."""
    lines = inspect.getsource(fn).splitlines()[1:]
    count, in_doc = 0, False
    for raw in lines:
        line = raw.strip()
        if line.startswith(('"""', "'''")):
            in_doc = not (len(line) > 3 and line.endswith(line[:3])) and not in_doc
            continue
        if in_doc or not line or line.startswith("#") or line in ("def run():", "return run"):
            continue
        count += 1
    return count


def _as_list(out, to_numpy):
    if isinstance(out, Caught):
        return [out]
    if isinstance(out, (list, tuple)):
        return [to_numpy(o) for o in out]
    return [to_numpy(out)]


def _close(outs, ref, task) -> bool:
    if len(outs) != len(ref):
        return False
    if any(isinstance(o, Caught) for o in outs + list(ref)):
        return all(isinstance(o, Caught) for o in outs) and all(isinstance(r, Caught) for r in ref)
    try:
        return all(
            np.shape(o) == np.shape(r) and np.allclose(np.asarray(o, np.float64), r, rtol=task.rtol, atol=task.atol)
            for o, r in zip(outs, ref)
        )
    except (TypeError, ValueError):
        return False


def _prepare(task, name, adapter, inputs):
    """Builds the framework's step and runs it once (the answer that is checked). Returns (Result, run)."""
    builder = getattr(adapter, task.name, None)
    if builder is None:
        reason = getattr(adapter, "UNSUPPORTED", {}).get(task.name, "no idiom for this task in the adapter")
        return Result(task.name, name, "no idiom", reason), None
    res = Result(task.name, name, "ok", lines=count_lines(builder))
    try:
        run = builder(inputs)
        res.outputs = _as_list(run(), adapter.to_numpy)
    except Exception as e:  # the framework's own error is the finding
        res.status, res.note = "error", _first_line(e)
        return res, None
    if any(isinstance(o, Caught) for o in res.outputs):
        res.status, res.note = "caught", res.outputs[0]
    return res, run


def _check(res: Result, task, reference, tapegrad_res):
    caught = res.status == "caught"
    res.agrees_fd = True if caught else _close(res.outputs, reference, task)
    if tapegrad_res is not None and tapegrad_res.status in ("ok", "caught", "wrong"):
        res.agrees_tapegrad = True if res.framework == "tapegrad" else _close(res.outputs, tapegrad_res.outputs, task)
        if caught != (tapegrad_res.status == "caught"):
            res.agrees_tapegrad = None  # one refused, one computed: not comparable, the note says which
    if not res.agrees_fd:
        res.status = "wrong"
        res.note = res.note or f"does not match the {task.check} reference"


def _time(runs: dict, repeat: int) -> dict:
    """Median seconds per step of each framework, sampling them in alternating order (A B C, C B A, ...)."""
    inner, samples, failed = {}, {name: [] for name in runs}, {}
    for name, run in runs.items():
        try:
            start = time.perf_counter()
            run()
            once = max(time.perf_counter() - start, 1e-7)
            inner[name] = int(min(max(TARGET_SAMPLE_S / once, 1), 1000))
        except Exception as e:
            failed[name] = _first_line(e)
    order = list(runs)
    for r in range(repeat):
        for name in order if r % 2 == 0 else order[::-1]:
            if name in failed:
                continue
            try:
                start = time.perf_counter()
                for _ in range(inner[name]):
                    runs[name]()
                samples[name].append((time.perf_counter() - start) / inner[name])
            except Exception as e:
                failed[name] = _first_line(e)
    return {name: (statistics.median(s) if s else None) for name, s in samples.items()}, failed


def run_compare(task_names, adapters: dict, repeat: int = 5, log=None) -> list:
    """Runs each task in each adapter; returns [Result]. `adapters` maps framework name -> adapter module."""
    results = []
    for task_name in task_names:
        task = TASKS_BY_NAME[task_name]
        inputs = task.inputs()
        reference = task.reference(inputs)
        row, runs = {}, {}
        for name, adapter in adapters.items():
            row[name], run = _prepare(task, name, adapter, inputs)
            if run is not None:
                runs[name] = run
        for res in row.values():
            if res.status != "no idiom" and res.status != "error":
                _check(res, task, reference, row.get("tapegrad"))
        if repeat > 0 and runs:
            medians, failed = _time(runs, repeat)
            for name, seconds in medians.items():
                row[name].seconds = seconds
                if name in failed:
                    row[name].note = (row[name].note + "; " if row[name].note else "") + f"timing: {failed[name]}"
        results.extend(row.values())
        if log:
            log(task_name)
    return results
