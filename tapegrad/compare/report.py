"""`tapegrad compare --report DIR`: report.md and report.html with matplotlib charts beside them.

Depends on matplotlib (Agg, no display) and on the runner's Results; called by tapegrad/compare/__init__.py.
"""

from __future__ import annotations

import html
import os

import numpy as np

from .runner import INDICATIVE

STATUS_COLORS = {"ok": "#4caf50", "caught": "#8bc34a", "wrong": "#e53935", "error": "#ff9800", "no idiom": "#bdbdbd"}


def _grid(results, tasks, frameworks):
    by = {(r.task, r.framework): r for r in results}
    return [[by.get((t, f)) for f in frameworks] for t in tasks]


def _bar_chart(path, tasks, frameworks, grid, value, ylabel, title, log=False):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(tasks) + 2), 4.8))
    width = 0.8 / max(len(frameworks), 1)
    x = np.arange(len(tasks))
    for j, fw in enumerate(frameworks):
        vals = [value(row[j]) if row[j] is not None else None for row in grid]
        ax.bar(x + (j - (len(frameworks) - 1) / 2) * width, [v if v else 0 for v in vals], width, label=fw)
    ax.set_xticks(x, tasks, rotation=35, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8, ncols=min(len(frameworks), 6))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _status_chart(path, tasks, frameworks, grid):
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb

    img = np.array([[to_rgb(STATUS_COLORS[r.status] if r else "#ffffff") for r in row] for row in grid])
    # at least 6 inches wide: with one framework the title would not fit
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(frameworks) + 3), 0.38 * len(tasks) + 1.6))
    ax.imshow(img, aspect="auto")
    for i, row in enumerate(grid):
        for j, r in enumerate(row):
            ax.text(j, i, r.status if r else "", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(frameworks)), frameworks)
    ax.set_yticks(range(len(tasks)), tasks)
    ax.xaxis.tick_top()
    ax.set_title("supported, and does the answer agree?", pad=24)
    fig.tight_layout()
    if path is None:
        return fig  # for the tests
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _rel(r, base):
    return r.seconds / base.seconds if r and base and r.seconds and base.seconds else None


def write_report(directory, results, tasks, frameworks, missing, payload):
    """Writes the charts, report.md and report.html into `directory`; returns (md path, html path)."""
    import matplotlib

    matplotlib.use("Agg")
    os.makedirs(directory, exist_ok=True)
    grid = _grid(results, tasks, frameworks)
    charts = [
        ("status.png", "Support and agreement per task"),
        ("time.png", "Median time per step (log scale, lower is faster)"),
        ("lines.png", "Lines of user code per task"),
    ]
    _status_chart(os.path.join(directory, "status.png"), tasks, frameworks, grid)
    ok = lambda r: r if r and r.status in ("ok", "caught") else None  # noqa: E731
    _bar_chart(os.path.join(directory, "time.png"), tasks, frameworks, grid,
               lambda r: ok(r) and r.seconds, "seconds per step", charts[1][1], log=True)
    _bar_chart(os.path.join(directory, "lines.png"), tasks, frameworks, grid,
               lambda r: r.lines if r.status != "no idiom" else None, "lines", charts[2][1])
    from . import cell, format_seconds

    rows = [[t] + [cell(r) if r else "-" for r in row] for t, row in zip(tasks, grid)]
    notes = [(r.framework, r.task, r.status, r.note) for r in results if r.note]
    md_path, html_path = os.path.join(directory, "report.md"), os.path.join(directory, "report.html")
    with open(md_path, "w") as f:
        f.write(_markdown(payload, frameworks, rows, notes, charts, missing, grid, tasks, format_seconds))
    with open(html_path, "w") as f:
        f.write(_html(payload, frameworks, rows, notes, charts, missing))
    return md_path, html_path


def _machine_line(payload):
    m = payload["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in payload["versions"].items())
    return (f"{m['processor']}, {m['cores']} cores, {m['platform']}, Python {m['python']}, numpy {m['numpy']}; "
            f"frameworks: {versions}")


def _markdown(payload, frameworks, rows, notes, charts, missing, grid, tasks, fmt):
    out = ["# tapegrad compare", "", f"Measured on: {_machine_line(payload)}.", "",
           "| task | " + " | ".join(frameworks) + " |", "|---" * (len(frameworks) + 1) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    out += ["", "ok: agrees with finite differences and with tapegrad; caught: refused with an error, as it should; "
            "WRONG: disagrees with finite differences; time: median per step; L: lines of user code.", "",
            f"**{INDICATIVE}**", ""]
    if "tapegrad" in frameworks:
        k = frameworks.index("tapegrad")
        out += ["## Time relative to tapegrad (below 1: faster than tapegrad)", "",
                "| task | " + " | ".join(frameworks) + " |", "|---" * (len(frameworks) + 1) + "|"]
        for t, row in zip(tasks, grid):
            rel = [_rel(r, row[k]) for r in row]
            out.append(f"| {t} | " + " | ".join(f"{v:.2f}" if v else "-" for v in rel) + " |")
        out.append("")
    for name, title in charts:
        out += [f"## {title}", "", f"![{title}]({name})", ""]
    if notes:
        out += ["## Notes (errors are each framework's own words)", ""]
        out += [f"- **{fw} / {task}** ({status}): {note}" for fw, task, status, note in notes] + [""]
    if missing:
        out += ["## Not run", ""] + [f"- {m.framework}: {m.reason}; add it with `{m.pip}`" for m in missing] + [""]
    return "\n".join(out)


def _html(payload, frameworks, rows, notes, charts, missing):
    e = html.escape
    head = "".join(f"<th>{e(f)}</th>" for f in ["task"] + frameworks)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>\n" for row in rows)
    figs = "".join(f'<h2>{e(t)}</h2>\n<p><img src="{e(n)}" alt="{e(t)}"></p>\n' for n, t in charts)
    note_items = "".join(f"<li><b>{e(fw)} / {e(task)}</b> ({e(st)}): {e(note)}</li>\n" for fw, task, st, note in notes)
    miss = "".join(f"<li>{e(m.framework)}: {e(m.reason)}; add it with <code>{e(m.pip)}</code></li>\n" for m in missing)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tapegrad compare</title>
<style>body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 3px 8px; font-family: monospace; }}
img {{ max-width: 100%; }}</style>
</head>
<body>
<h1>tapegrad compare</h1>
<p>Measured on: {e(_machine_line(payload))}.</p>
<table>
<thead><tr>{head}</tr></thead>
<tbody>
{body}</tbody>
</table>
<p>ok: agrees with finite differences and with tapegrad; caught: refused with an error, as it should;
WRONG: disagrees with finite differences; time: median per step; L: lines of user code.</p>
<p><b>{e(INDICATIVE)}</b></p>
{figs}<h2>Notes</h2>
<ul>
{note_items or "<li>none</li>"}
</ul>
<h2>Not run</h2>
<ul>
{miss or "<li>none</li>"}
</ul>
</body>
</html>
"""
