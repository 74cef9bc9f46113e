"""`tapegrad compare`: the same autodiff tasks in tapegrad and in each peer framework installed beside it.

Gradients are checked against tapegrad's and against finite differences, steps are timed (medians of
alternating runs, every framework in this one process, so the times are indicative, not benchmarks: see
runner.INDICATIVE) and lines of user code counted. Layers: tasks.py (inputs + references), one adapter per
framework (`<name>_.py`, imported lazily), runner.py, report.py (Markdown + HTML + charts). Called by cli.py.
"""

from __future__ import annotations

import json
import os
import platform
import sys

from .runner import FRAMEWORKS, INDICATIVE, Missing, Result, count_lines, load_adapters, run_compare
from .tasks import TASKS, TASKS_BY_NAME, Task

__all__ = ["FRAMEWORKS", "TASKS", "Result", "Missing", "Task", "run_compare", "load_adapters", "count_lines", "main"]


def add_parser(sub) -> None:
    """Adds the `compare` subcommand to the `tapegrad` argument parser."""
    p = sub.add_parser(
        "compare",
        help="run the same autodiff tasks in tapegrad and each installed peer (torch, tensorflow, jax, ...)",
        description="Runs autodiff tasks in tapegrad and in every peer framework installed beside it, each in "
        "that framework's own idiom; checks each answer against tapegrad's and against finite differences, "
        "times each step (median of alternating runs, all in this one process: indicative timings, not benchmarks) "
        "and counts lines of user code. Tasks: "
        + ", ".join(t.name for t in TASKS) + ".",
    )
    p.add_argument("--tasks", metavar="LIST", help="comma-separated task names (default: all)")
    p.add_argument("--frameworks", metavar="LIST", help=f"comma-separated, from {','.join(FRAMEWORKS)} (default: all)")
    p.add_argument("--repeat", type=int, default=5, help="timed samples per task and framework (default 5; 0: no timing)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON ('-' for standard output)")
    p.add_argument("--report", metavar="DIR", help="write report.md, report.html and chart PNGs (needs matplotlib)")


def _pick(value, known, what: str):
    if not value:
        return list(known)
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"compare: unknown {what} {', '.join(unknown)}; choose from {', '.join(known)}")
    return names


def machine() -> dict:
    """The machine the numbers were measured on, for the report."""
    import numpy as np

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "numpy": np.__version__,
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def main(args, out=print) -> int:
    """Runs `tapegrad compare` from parsed arguments; returns the exit status."""
    try:
        tasks = _pick(args.tasks, [t.name for t in TASKS], "task")
        frameworks = _pick(args.frameworks, list(FRAMEWORKS), "framework")
    except ValueError as e:
        print(f"tapegrad: error: {e}", file=sys.stderr)
        return 2
    if args.repeat < 0:
        print(f"tapegrad: error: compare: --repeat must be 0 or more, got {args.repeat}", file=sys.stderr)
        return 2
    if args.json == "-":  # standard output carries the JSON alone; the table goes to standard error
        out = lambda *a: print(*a, file=sys.stderr)
    for option, folder in (("--report", args.report), ("--json", args.json and args.json != "-" and
                                                      os.path.dirname(os.path.abspath(args.json)))):
        if folder:  # checked before the (slow) run, not after it
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as e:
                print(f"tapegrad: error: compare: cannot create the folder {folder} for {option} "
                      f"({e.strerror or e}); pass a path you can write to", file=sys.stderr)
                return 2
    adapters, missing = load_adapters(frameworks)
    versions = {name: _version(a) for name, a in adapters.items()}
    out(f"tapegrad compare: {len(tasks)} tasks in {', '.join(f'{n} {v}' for n, v in versions.items()) or 'no framework'}")
    results = run_compare(tasks, adapters, repeat=args.repeat)
    out(format_table(results, tasks, list(adapters)))
    load = machine().get("load_average_1min")
    if load is not None and args.repeat > 0:
        out(f"machine load average (1 min) after the run: {load:.2f} on {os.cpu_count()} cores")
    notes = format_notes(results)
    if notes:
        out(notes)
    if missing:
        out("\nnot run (add them to compare):")
        for m in missing:
            out(f"  {m.framework:<11} {m.reason}: {m.pip}")
    payload = {"machine": machine(), "versions": versions, "results": [r.to_json() for r in results],
               "missing": [m.__dict__ for m in missing]}
    if args.json:
        text = json.dumps(payload, indent=2)
        if args.json == "-":
            print(text)
        else:
            try:
                with open(args.json, "w") as f:
                    f.write(text + "\n")
            except OSError as e:
                print(f"tapegrad: error: compare: cannot write --json {args.json} ({e.strerror or e}); "
                      "pass a file path you can write to", file=sys.stderr)
                return 2
    if args.report:
        from .report import write_report

        try:
            paths = write_report(args.report, results, tasks, list(adapters), missing, payload)
        except ImportError as e:
            print(f"tapegrad: error: compare --report needs matplotlib ({e}); pip install matplotlib", file=sys.stderr)
            return 2
        except OSError as e:
            print(f"tapegrad: error: compare: cannot write the report into {args.report} ({e.strerror or e}); "
                  "pass a --report folder you can write to", file=sys.stderr)
            return 2
        out(f"\nreport: {paths[0]} and {paths[1]}")
    return 0


def _version(adapter) -> str:
    try:
        return adapter.version()
    except Exception:
        return "?"


def format_seconds(s) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f}us"
    if s < 1:
        return f"{s * 1e3:.2f}ms"
    return f"{s:.2f}s"


def cell(r: Result) -> str:
    """One table cell: the verdict, then time and lines when it ran."""
    if r.status in ("no idiom", "error"):
        return r.status
    verdict = {"ok": "ok", "caught": "caught", "wrong": "WRONG"}[r.status]
    if r.status == "ok" and r.agrees_tapegrad is False:
        verdict = "ok!=tg"  # matches finite differences but not tapegrad: tapegrad is the one that is off
    return f"{verdict} {format_seconds(r.seconds)} {r.lines}L"


def format_table(results, tasks, frameworks) -> str:
    by = {(r.task, r.framework): r for r in results}
    rows = [["task"] + frameworks]
    rows += [[t] + [cell(by[t, f]) if (t, f) in by else "-" for f in frameworks] for t in tasks]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    legend = ("ok: agrees with finite differences and tapegrad; caught: refused with an error, as it should; "
              "WRONG: disagrees with finite differences. Time: median per step; L: lines of user code.\n" + INDICATIVE)
    return "\n".join(lines) + "\n" + legend


def format_notes(results) -> str:
    notes = [f"  {r.framework} / {r.task}: {r.status}: {r.note}" for r in results if r.note and r.status != "ok"]
    notes += [f"  {r.framework} / {r.task}: {r.note}" for r in results if r.note and r.status == "ok"]
    return "\nnotes:\n" + "\n".join(notes) if notes else ""
