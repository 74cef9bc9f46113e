"""The compiler benchmark suite (benchmarks/): every workload runs in its tiny size on the tapegrad runners, the
table and the JSON say what they should, and the harness reports a failing or wrong peer instead of stopping.
No peer needs to be installed, and no timing is asserted."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks/ lives in the checkout, not in the installed package

from benchmarks import harness, peers
from benchmarks.compiler import main as bench_main
from benchmarks.workloads import WORKLOADS, relative_difference

TAPEGRAD_RUNNERS = ["tapegrad eager", "tapegrad traced numpy", "tapegrad traced C"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """`tapegrad bench --tiny --peers none` once for the module: (printed table, parsed JSON)."""
    from tapegrad.cli import main as cli_main

    path = tmp_path_factory.mktemp("bench") / "results.json"
    old_cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = cli_main(["bench", "--tiny", "--peers", "none", "--repeats", "1", "--warmup", "0", "--rounds", "1",
                            "--sample-s", "0.001", "--retries", "0", "--json", str(path)])
    finally:
        os.chdir(old_cwd)
    assert rc == 0, out.getvalue()
    return out.getvalue(), json.loads(path.read_text())


def test_every_workload_runs_in_every_tapegrad_runner_and_agrees(tiny_run):
    _, results = tiny_run
    assert sorted(results["workloads"]) == sorted(WORKLOADS)
    for key, w in results["workloads"].items():
        rows = {r["runner"]: r for r in w["rows"]}
        assert list(rows) == TAPEGRAD_RUNNERS, key
        for name, row in rows.items():
            assert row["status"] == "ok", (key, name, row["error"], row["traceback"])
            assert len(row["times_s"]) == 1 and row["value"] > 0
            assert row["ratio_to_best_peer"] is None  # no peer ran, so there is nothing to compare with
        for name in TAPEGRAD_RUNNERS[1:]:
            assert rows[name]["check_ok"] is True, (key, name, rows[name]["check_error"])
        eager = rows["tapegrad eager"]
        if WORKLOADS[key].exact is not None:  # tapegrad eager itself against float64 numpy
            assert eager["check_ok"] is True and eager["check_error"] < WORKLOADS[key].tolerance, key
        else:
            assert eager["check_error"] is None
        assert w["best_peer"] is None and w["sizes"] == json.loads(json.dumps(WORKLOADS[key].tiny))


def test_json_records_the_machine_and_the_bounds(tiny_run):
    _, results = tiny_run
    env = results["environment"]
    assert env["cores"] >= 1 and env["blas"] and env["frameworks"]["tapegrad"]["status"] == "ok"
    assert set(env["frameworks"]) == {"tapegrad"}
    w3, w5 = results["workloads"]["W3"], results["workloads"]["W5"]
    assert w3["bandwidth_gbs"] > 0 and w3["bandwidth_bound_ms"] == pytest.approx(
        8 * w3["sizes"]["n"] / (w3["bandwidth_gbs"] * 1e9) * 1e3)
    assert "peak_estimate" in w5 and (w5["peak_gflops"] is None or w5["peak_gflops"] > 0)
    assert results["settings"] == {"repeats": 1, "warmup": 0, "tiny": True, "try_known_failures": False,
                                   "same_process": False, "rounds": 1, "sample_s": 0.001, "retries": 0,
                                   "busy_cores": 0.25, "threads": None, "wait_quiet_s": 0.0}


def test_table_has_a_block_per_workload_with_units_and_checks(tiny_run):
    table, _ = tiny_run
    for key, w in WORKLOADS.items():
        assert f"{key}  {w.describe(w.tiny)}  [{w.unit}," in table
    assert table.count("reference; vs float64 numpy: ok") == sum(w.exact is not None for w in WORKLOADS.values())
    rows = [line for line in table.splitlines() if line.startswith("  tapegrad traced C ")]
    assert len(rows) == len(WORKLOADS) and all(" ok (" in row for row in rows)
    assert table.count("no peer to compare with") == len(WORKLOADS)  # the summary, one line per workload
    assert "bandwidth bound" in table and "GFLOP/s" in table
    assert "WRONG (" not in table and "failed at" not in table


def _fake_framework(name, **workload_fns):
    module = SimpleNamespace(VARIANTS={f"{name} runner": None}, to_numpy=np.asarray, **workload_fns)
    return peers.Framework(name, "ok", module=module, version="0")


def _w5_runner(scale=1.0):
    def w5(data, variant):
        product = data["a"].astype(np.float64) @ data["b"] * scale
        return lambda: product

    return w5


def test_a_wrong_peer_is_marked_and_never_best_and_a_failing_one_is_reported():
    def broken(data, variant):
        raise RuntimeError("no kernel for this shape")

    def fails_later(data, variant):
        calls = []

        def run():
            calls.append(1)
            if len(calls) > 1:
                raise MemoryError("out of memory on the second call")
            return data["a"] @ data["b"]

        return run

    from benchmarks.peers import tapegrad_

    frameworks = [peers.Framework("tapegrad", "ok", module=tapegrad_),
                  _fake_framework("right", w5=_w5_runner()), _fake_framework("wrong", w5=_w5_runner(1.01)),
                  _fake_framework("broken", w5=broken), _fake_framework("flaky", w5=fails_later)]
    rows = {r.runner: r for r in harness.run_workload(WORKLOADS["W5"], WORKLOADS["W5"].tiny, frameworks, 2, 0)}
    assert rows["right runner"].check_ok is True
    assert rows["wrong runner"].check_ok is False and rows["wrong runner"].check_error == pytest.approx(0.01, rel=1e-3)
    assert harness.best_peer(list(rows.values())).runner == "right runner"  # whatever the timings
    assert rows["broken runner"].status == "failed"
    assert rows["broken runner"].error == "setup: RuntimeError: no kernel for this shape"
    assert rows["flaky runner"].status == "failed" and rows["flaky runner"].error.startswith("timed call: MemoryError")
    assert all(rows[n].status == "ok" for n in TAPEGRAD_RUNNERS)


def test_a_known_failure_is_skipped_with_its_reason_unless_asked_for():
    fw = _fake_framework("slow", w5=_w5_runner())
    fw.module.known_failures = lambda: {"W5": "takes minutes, then the compiler rejects it"}
    tiny = WORKLOADS["W5"].tiny
    (skipped,) = [r for r in harness.run_workload(WORKLOADS["W5"], tiny, [fw], 1, 0) if r.framework == "slow"]
    assert skipped.status == "skipped" and skipped.error == "takes minutes, then the compiler rejects it"
    assert skipped.median_s is None
    (tried,) = harness.run_workload(WORKLOADS["W5"], tiny, [fw], 1, 0, try_known_failures=True)
    assert tried.status == "ok" and tried.median_s is not None


def test_relative_difference_catches_shape_and_nan():
    ref = {"g": np.ones(3)}
    assert relative_difference({"g": np.ones(3) * 1.5}, ref) == pytest.approx(0.5)
    assert relative_difference({"g": np.ones(4)}, ref) == float("inf")
    assert relative_difference({"g": np.array([1.0, np.nan, 1.0])}, ref) == float("inf")
    assert relative_difference({}, ref) == float("inf")


def test_a_missing_peer_is_skipped_with_its_pip_command(tmp_path, monkeypatch):
    (tmp_path / "fakepeer_.py").write_text("import tapegrad_missing_package_xyz\n")
    (tmp_path / "brokenpeer_.py").write_text("raise OSError('libfoo.so: cannot open shared object file')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(peers.FRAMEWORKS, "fake", ("fakepeer_", "tapegrad_missing_package_xyz", "pip install fake"))
    monkeypatch.setitem(peers.FRAMEWORKS, "brokenpeer", ("brokenpeer_", "brokenpeer", "pip install broken"))
    missing = peers.load("fake")
    assert missing.status == "missing" and "pip install fake" in missing.message and "tapegrad[bench]" in missing.message
    broken = peers.load("brokenpeer")
    assert broken.status == "failed" and "OSError: libfoo.so" in broken.message


def test_peer_list_is_checked():
    assert peers.select("none") == [] and peers.select("jax, torch") == ["jax", "torch"]
    with pytest.raises(ValueError, match="unknown peer pytorch"):
        peers.select("pytorch")
    with pytest.raises(SystemExit):
        bench_main(["--peers", "pytorch"])


def test_bench_help_is_fast_and_imports_no_peer():
    code = textwrap.dedent("""
        import contextlib, io, sys
        from tapegrad.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            try:
                main(["bench", "--help"])
            except SystemExit as e:
                assert e.code == 0
        assert "--json" in out.getvalue() and "W5" in out.getvalue()
        loaded = [m for m in ("torch", "jax", "tensorflow", "tinygrad") if m in sys.modules]
        assert not loaded, loaded
    """)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)
