"""The process-isolated benchmark harness (benchmarks/isolated.py, child.py, load.py) on the tiny sizes: every
runner measured in processes other than this one, its answer passed back and checked, failures and busy
machines reported. No timing is asserted; peers that are not installed are skipped."""

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import isolated, load
from benchmarks.harness import Row
from benchmarks.workloads import WORKLOADS

TINY = isolated.Settings(tiny=True, repeats=2, warmup=0, rounds=2, sample_s=0.001, retries=0)


@pytest.fixture(scope="module")
def tapegrad_fw():
    fw = isolated.describe("tapegrad")
    assert fw.status == "ok", fw.message
    return fw


def test_a_child_describes_its_framework_without_importing_it_here(tapegrad_fw):
    assert tapegrad_fw.runners == ["tapegrad eager", "tapegrad traced numpy", "tapegrad traced C"]
    assert tapegrad_fw.module is None and tapegrad_fw.version and tapegrad_fw.blas


def test_every_runner_runs_in_processes_of_its_own_and_its_answer_comes_back(tapegrad_fw):
    rows = isolated.run_workload(WORKLOADS["W6"], WORKLOADS["W6"].tiny, [tapegrad_fw], TINY)
    pids = [pid for row in rows for pid in row.pids]
    assert len(pids) == 3 * TINY.rounds and len(set(pids)) == len(pids) and os.getpid() not in pids
    for row in rows:
        assert row.status == "ok", row.error
        assert len(row.process_medians) == TINY.rounds and len(row.times) == TINY.rounds * TINY.repeats
        assert row.median_s > 0 and row.check_ok is True, (row.runner, row.check_error)
        assert all(c is None or c >= 0 for c in row.other_cores)
    eager = rows[0]
    assert eager.check_error < WORKLOADS["W6"].tolerance  # against float64 numpy, from the child's probe file


def test_a_failing_child_becomes_a_failed_row_not_an_exception():
    spec = {"workload": "W5", "tiny": True, "framework": "tapegrad", "runner": "no such runner", "repeats": 1,
            "warmup": 0, "sample_s": 0.001}
    result, probe = isolated.run_child(spec, timeout_s=120)
    assert result["status"] == "failed" and result["error"].startswith("setup: KeyError") and probe is None
    result, _ = isolated.run_child({**spec, "runner": "tapegrad eager"}, timeout_s=0.01)
    assert result["status"] == "failed" and "ran past" in result["error"]


def test_a_wrong_answer_passed_back_is_marked_and_never_best():
    w5 = WORKLOADS["W5"]
    product = w5.exact(w5.make_data(w5.tiny))["product"]
    rows = [Row("tapegrad eager", "tapegrad"), Row("right", "peer"), Row("wrong", "peer")]
    probes = {}
    for row, scale, seconds in zip(rows, (1.0, 1.0, 1.01), (3.0, 2.0, 1.0)):
        result = {"status": "ok", "first_call_s": 0.1, "times_s": [seconds], "other_cores": 0.0, "pid": 1}
        isolated._record(row, result, {"product": product * scale}, probes)
    isolated.check_against_reference(w5, w5.make_data(w5.tiny), rows, probes)
    isolated._summarise(w5, w5.tiny, rows, TINY)
    assert rows[1].check_ok is True and rows[2].check_ok is False
    assert rows[1].ratio == 1.0 and rows[0].ratio == 1.5  # the faster but wrong peer is not the best


def test_a_row_measured_while_others_kept_the_cores_busy_is_flagged():
    w3 = WORKLOADS["W3"]
    quiet, busy = Row("quiet", "peer"), Row("busy", "peer")
    for row, others in ((quiet, [0.0, 0.1]), (busy, [0.9, 1.2])):
        for cores in others:
            isolated._record(row, {"status": "ok", "first_call_s": 0, "times_s": [1e-3], "other_cores": cores}, {}, {})
    isolated._summarise(w3, w3.tiny, [quiet, busy], TINY)
    assert not quiet.busy and busy.busy


def test_other_cores_subtract_this_process_own_time():
    a = load.Snapshot(wall=0.0, machine_busy_s=10.0, own_s=1.0)
    b = load.Snapshot(wall=2.0, machine_busy_s=13.0, own_s=2.0)  # 3 CPU-s used, 1 of them ours, in 2 s
    assert load.other_cores(a, b) == pytest.approx(1.0) and load.own_cores(a, b) == pytest.approx(0.5)
    assert load.other_cores(a, None) is None and not load.is_busy(None)
    assert load.snapshot() is None or load.snapshot().wall > 0


def test_children_get_the_users_environment_not_tapegrads_openmp_settings(monkeypatch):
    monkeypatch.setattr(isolated, "_USER_ENV", {"PATH": os.environ.get("PATH", "")})
    monkeypatch.setenv("GOMP_SPINCOUNT", "1000")  # what backends/c sets in this process before loading a kernel
    env = isolated.child_env()
    assert "GOMP_SPINCOUNT" not in env and str(ROOT) in env["PYTHONPATH"].split(os.pathsep)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_a_peer_in_its_own_process_agrees_with_tapegrad(tapegrad_fw):
    torch_fw = isolated.describe("torch")
    assert torch_fw.status == "ok", torch_fw.message
    torch_fw.runners = ["torch eager"]  # torch.compile would compile for minutes here
    settings = isolated.Settings(tiny=True, repeats=1, warmup=0, rounds=1, sample_s=0.001, retries=0)
    tapegrad_fw = isolated.describe("tapegrad")
    tapegrad_fw.runners = ["tapegrad eager"]
    rows = {r.runner: r for r in isolated.run_workload(WORKLOADS["W4"], WORKLOADS["W4"].tiny,
                                                       [tapegrad_fw, torch_fw], settings)}
    peer = rows["torch eager"]
    assert peer.status == "ok" and peer.check_ok is True and peer.ratio == pytest.approx(1.0)
    assert np.isfinite(rows["tapegrad eager"].ratio)


def test_threads_reach_every_pool_a_child_starts():
    env = isolated.child_env(threads=1)
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == env["TAPEGRAD_BENCH_THREADS"] == "1"
    assert "--xla_cpu_multi_thread_eigen=false" in env["XLA_FLAGS"]
    assert "XLA_FLAGS" not in isolated.thread_env(2) and "OMP_NUM_THREADS" not in isolated.child_env(None) or \
        os.environ.get("OMP_NUM_THREADS")


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity on this platform")
def test_a_child_under_threads_is_pinned_to_that_many_cores(monkeypatch):
    from benchmarks import child

    before = os.sched_getaffinity(0)
    monkeypatch.setenv("TAPEGRAD_BENCH_THREADS", "1")
    try:
        child._hold_to_threads()
        assert len(os.sched_getaffinity(0)) == 1
    finally:
        os.sched_setaffinity(0, before)
