"""The suite's output: one plain-text table per workload, and the same results as JSON (`--json PATH`)."""

from __future__ import annotations

import json

from benchmarks.harness import REFERENCE, Row, best_peer
from benchmarks.workloads import Workload

ERROR_WIDTH = 100  # a failed row's message is cut here in the table; the JSON keeps all of it


def format_value(v: float) -> str:
    return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}"


def _check(row: Row, tolerance: float) -> str:
    if row.check_error is None:
        return "reference" if row.runner == REFERENCE else "-"
    verdict = f"ok ({row.check_error:.0e})" if row.check_ok else f"WRONG ({row.check_error:.1e} > {tolerance:.0e})"
    return f"reference; vs float64 numpy: {verdict}" if row.runner == REFERENCE else verdict


def workload_table(workload: Workload, sizes: dict, rows: list, extra_lines: list) -> str:
    """The block of one workload: a title line, a header, one line per runner, then `extra_lines` (bounds)."""
    best = best_peer(rows)
    direction = "higher is better" if workload.higher_is_better else "lower is better"
    lines = [f"{workload.key}  {workload.describe(sizes)}  [{workload.unit}, {direction}]",
             f"  {'runner':<26} {workload.unit:>10}  {'time/best peer':>14}  {'first call':>10}  check vs {REFERENCE}"]
    for row in rows:
        if row.status == "skipped":
            lines.append(f"  {row.runner:<26} skipped: {row.error} (--try-known-failures runs it)")
            continue
        if row.status != "ok":
            lines.append(f"  {row.runner:<26} failed at {row.error[:ERROR_WIDTH]}")
            continue
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        if row is best:
            ratio = "(best) " + ratio
        first = f"{row.first_call_s:.2f} s" if row.first_call_s is not None else "-"
        lines.append(f"  {row.runner:<26} {format_value(row.value):>10}  {ratio:>14}  {first:>10}  "
                     f"{_check(row, workload.tolerance)}{_load_note(row)}")
    lines.extend("  " + line for line in extra_lines)
    return "\n".join(lines)


def _load_note(row: Row) -> str:
    """Other processes' CPU use during the row's samples, where it was measured: BUSY above the threshold."""
    known = [c for c in row.other_cores if c is not None]
    if not known:
        return ""
    worst = max(known)
    return f"  BUSY (others used {worst:.2f} cores)" if row.busy else f"  (others: {worst:.2f} cores)"


def _how(repeats: int, warmup: int, settings) -> str:
    if settings is None:
        medians = f"medians of {repeats} repeats" if repeats > 1 else "1 repeat (no median)"
        return (f"SAME-PROCESS DIAGNOSTIC: every runner in this one process, each repeat calling every runner once, "
                f"in turn; {medians} after {warmup} warm-up rounds. These numbers slow the peers: never quote them.")
    threads = "each framework's default threads" if settings.threads is None else f"{settings.threads} thread(s) each"
    return (f"Every runner in a fresh process of its own ({threads}), {settings.rounds} process(es) each in "
            "alternating order; in "
            f"each, {warmup} warm-up calls, then {repeats} samples of about {settings.sample_s:g} s; the median over "
            f"the processes of each one's median. A process whose samples ran while other processes used more than "
            f"{settings.busy_cores:g} cores is rerun (up to {settings.retries}x), the quietest kept; BUSY marks a "
            "row still measured on a busy machine.")


def legend(repeats: int, warmup: int, settings=None) -> str:
    return "\n".join([
        _how(repeats, warmup, settings),
        "time/best peer: the runner's median time / the fastest peer's (below 1.00x: faster than every peer).",
        "first call: tracing included, and compiling unless the kernel cache already holds the graph.",
        f"check: the relative difference from {REFERENCE}'s outputs (W1, W2: the loss and the loss drop after one",
        "SGD step; W3: the gradient; W4: value and gradient; W5: the product; W6: H v), and of tapegrad eager's own",
        "from float64 numpy where there is one. A WRONG peer is never the best.",
    ])


def summary(results: dict, runner: str = "tapegrad traced C") -> str:
    """One line per workload: `runner`'s time over the best peer's, with the best peer's name."""
    lines = [f"{runner} / best peer (time ratio, below 1.00x: faster):"]
    for key, w in results.items():
        row = next((r for r in w["rows"] if r["runner"] == runner), None)
        if row is None or row["status"] != "ok":
            lines.append(f"  {key}  {runner} did not run" + (f" ({row['error']})" if row else ""))
        elif w["best_peer"] is None:
            lines.append(f"  {key}  no peer to compare with")
        else:
            lines.append(f"  {key}  {row['ratio_to_best_peer']:.2f}x  (best peer: {w['best_peer']})")
    return "\n".join(lines)


def busy_rows(results: dict) -> list:
    """'W1 torch eager' for every row flagged busy."""
    return [f"{key} {r['runner']}" for key, w in results.items() for r in w["rows"] if r.get("busy")]


def load_line(env: dict, busy: list, measured: bool = True) -> str:
    before, after = env.get("load_average_1min"), env.get("load_average_1min_after")
    text = (f"machine load: load average {before if before is None else round(before, 2)} before the run, "
            f"{after if after is None else round(after, 2)} after it")
    if not measured:
        return text + "; other processes' use during each row is measured only in isolated runs"
    if not busy:
        return text + "; no row measured while other processes were busy"
    return text + f"; BUSY rows (noisy, rerun them on a quiet machine): {', '.join(busy)}"


def _row_json(row: Row) -> dict:
    return {"runner": row.runner, "framework": row.framework, "status": row.status, "error": row.error or None,
            "traceback": row.detail or None, "median_s": row.median_s, "value": row.value, "times_s": row.times,
            "process_medians_s": row.process_medians, "other_cores": row.other_cores, "busy": row.busy,
            "ratio_to_best_peer": row.ratio, "first_call_s": row.first_call_s, "check_error": row.check_error,
            "check_ok": row.check_ok}


def workload_json(workload: Workload, sizes: dict, rows: list, bounds: dict) -> dict:
    best = best_peer(rows)
    return {"title": workload.describe(sizes), "unit": workload.unit, "higher_is_better": workload.higher_is_better,
            "sizes": sizes, "check_tolerance": workload.tolerance, "best_peer": best.runner if best else None,
            "rows": [_row_json(r) for r in rows], **bounds}


def write_json(path: str, results: dict) -> None:
    with open(path, "w") as f:
        json.dump(results, f, indent=1, default=_plain)
        f.write("\n")


def _plain(obj):
    """numpy scalars and tuples of sizes as JSON numbers and lists."""
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")
