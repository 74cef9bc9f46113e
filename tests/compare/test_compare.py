"""tapegrad compare: end to end with tapegrad alone and with PyTorch; wrong answers and failing peers."""

import json
import sys
import types
from html.parser import HTMLParser

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import cli
from tapegrad.compare import TASKS, count_lines, run_compare, tapegrad_
from tapegrad.compare.runner import load_adapters

FAST = "arithmetic,linear_tape,custom_gradient,jvp,inplace_update,mlp_step"


def test_only_tapegrad_end_to_end(capsys, tmp_path):
    path = tmp_path / "out.json"
    assert cli.main(["compare", "--frameworks", "tapegrad", "--repeat", "1", "--json", str(path)]) == 0
    text = capsys.readouterr().out
    for t in TASKS:
        assert t.name in text
    assert "Times are indicative only" in text and "python -m benchmarks" in text
    results = json.loads(path.read_text())["results"]
    assert {r["status"] for r in results} <= {"ok", "caught"}, [r for r in results if r["status"] not in ("ok", "caught")]
    assert all(r["lines"] > 0 for r in results)


def test_with_torch_all_tasks_agree(capsys):
    pytest.importorskip("torch")
    assert cli.main(["compare", "--frameworks", "tapegrad,torch", "--repeat", "0", "--json", "-"]) == 0
    out = capsys.readouterr().out
    payload = json.loads(out[out.index("{\n") :])
    torch_rows = [r for r in payload["results"] if r["framework"] == "torch"]
    assert len(torch_rows) == len(TASKS)
    for r in torch_rows:
        assert r["status"] in ("ok", "caught"), r
        assert r["agrees_tapegrad"] is True, r


def test_missing_peer_prints_pip_command(capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a))
    assert cli.main(["compare", "--frameworks", "tapegrad,jax", "--tasks", "arithmetic", "--repeat", "0"]) == 0
    out = capsys.readouterr().out
    assert "jax is not installed: pip install jax jaxlib" in out


def _fake_adapter(**tasks):
    mod = types.SimpleNamespace(NAME="fake", to_numpy=np.asarray, version=lambda: "0", UNSUPPORTED={})
    for name, fn in tasks.items():
        setattr(mod, name, fn)
    return mod


def test_planted_wrong_gradient_is_caught():
    def linear_tape(inp):  # the true gradient, plus 1 on one entry
        def run():
            x = inp["x"].astype(np.float64)
            return [np.repeat(x.T, 2, axis=1) + np.array([[1.0, 0], [0, 0]]), np.ones(2)]

        return run

    results = run_compare(["linear_tape"], {"tapegrad": tapegrad_, "fake": _fake_adapter(linear_tape=linear_tape)}, 1)
    by = {r.framework: r for r in results}
    assert by["tapegrad"].status == "ok" and by["tapegrad"].agrees_fd
    assert by["fake"].status == "wrong"
    assert by["fake"].agrees_fd is False and by["fake"].agrees_tapegrad is False


def test_peer_that_raises_is_reported_not_fatal(capsys):
    def jvp(inp):
        def run():
            raise RuntimeError("forward mode is not implemented here\nsecond line")

        return run

    def hessian(inp):
        raise ValueError("cannot build")

    fake = _fake_adapter(jvp=jvp, hessian=hessian)
    results = run_compare(["jvp", "hessian", "arithmetic"], {"tapegrad": tapegrad_, "fake": fake}, 1)
    by = {(r.task, r.framework): r for r in results}
    assert by["jvp", "fake"].status == "error"
    assert by["jvp", "fake"].note == "RuntimeError: forward mode is not implemented here"
    assert by["hessian", "fake"].status == "error" and "cannot build" in by["hessian", "fake"].note
    assert by["arithmetic", "fake"].status == "no idiom"
    assert by["jvp", "tapegrad"].status == "ok"


def test_unknown_names_are_errors(capsys):
    assert cli.main(["compare", "--frameworks", "tapegrad,mxnet"]) == 2
    assert "unknown framework mxnet" in capsys.readouterr().err


def test_count_lines_skips_harness_docstrings_and_comments():
    def task(inp):
        """Doc."""
        # a comment
        a = 1

        def run():
            return a + 1

        return run

    assert count_lines(task) == 2


class _Checker(HTMLParser):
    VOID = {"meta", "img", "br", "hr", "link", "col", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.images = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()


def test_report_files_written_and_html_well_formed(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    frameworks = "tapegrad,torch" if "torch" in sys.modules or _has("torch") else "tapegrad"
    assert cli.main(["compare", "--frameworks", frameworks, "--tasks", FAST, "--repeat", "1",
                     "--report", str(tmp_path)]) == 0
    md, html = (tmp_path / "report.md").read_text(), (tmp_path / "report.html").read_text()
    assert "| task |" in md and "linear_tape" in md
    assert "indicative" in md and "indicative" in html  # times from one shared process are not benchmarks
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert checker.stack == []
    assert checker.images, "the HTML shows no chart"
    for src in checker.images:
        assert (tmp_path / src).is_file() and (tmp_path / src).read_bytes()[:4] == b"\x89PNG"
        assert f"({src})" in md


def _has(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_adapters_load_lazily():
    adapters, missing = load_adapters(["tapegrad"])
    assert list(adapters) == ["tapegrad"] and missing == []
    assert tg.__name__ == "tapegrad"


def test_json_to_stdout_is_json_only(capsys):
    assert cli.main(["compare", "--frameworks", "tapegrad", "--tasks", "arithmetic", "--repeat", "0", "--json", "-"]) == 0
    cap = capsys.readouterr()
    payload = json.loads(cap.out)  # the whole of standard output
    assert [r["task"] for r in payload["results"]] == ["arithmetic"]
    assert "arithmetic" in cap.err  # the table went to standard error


def test_unwritable_report_or_json_is_one_error_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for opt in ("--report", "--json"):
        rc = cli.main(["compare", "--frameworks", "tapegrad", "--tasks", "arithmetic", "--repeat", "0",
                       opt, str(blocker / "sub" / "r.json")])
        err = capsys.readouterr().err
        assert rc == 2 and err.startswith("tapegrad: error: compare:") and opt in err, err


def test_status_chart_title_fits_with_one_framework(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from tapegrad.compare import report

    results = run_compare(["arithmetic"], load_adapters(["tapegrad"])[0], repeat=0)
    fig = report._status_chart(None, ["arithmetic"], ["tapegrad"], report._grid(results, ["arithmetic"], ["tapegrad"]))
    fig.canvas.draw()
    box = fig.axes[0].title.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width
