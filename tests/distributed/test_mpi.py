"""tg.distributed across processes: each test starts `mpiexec -n N python workers.py NAME` and reads the
launcher's exit status (a failed assertion on any rank aborts the job). Skipped when mpi4py or mpiexec is
missing (pip install "tapegrad[mpi]")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("mpi4py", reason='needs the mpi extra: pip install "tapegrad[mpi]"')
MPIEXEC = shutil.which("mpiexec") or shutil.which("mpiexec", path=os.path.dirname(sys.executable))
if MPIEXEC is None:
    pytest.skip("mpiexec is not on PATH (pip install mpich)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
WORKERS = Path(__file__).with_name("workers.py")


def python(args, n: int | None = 2, timeout: float = 120, env=None) -> subprocess.CompletedProcess:
    """`mpiexec -n n python *args` (n None: python alone), with this checkout first on the path."""
    launcher = [] if n is None else [MPIEXEC, "-n", str(n)]
    environ = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([*launcher, sys.executable, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=environ)  # fmt: skip


def mpirun(name: str, n: int = 2, timeout: float = 120, env=None) -> subprocess.CompletedProcess:
    return python([WORKERS, name], n, timeout, env)


def _ok(result):
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("name", ["collectives", "mismatch", "gradients", "jit"])
def test_collectives(name, n):
    _ok(mpirun(name, n))


@pytest.mark.parametrize("name", ["ddp", "no_sync", "tf_idiom", "jax_idiom"])
def test_two_ranks_train_as_one_process_with_twice_the_batch(name):
    _ok(mpirun(name, 2, timeout=300))


@pytest.mark.parametrize("name", ["raises", "dies"])
def test_a_failing_rank_ends_the_job(name):
    started = time.monotonic()
    result = mpirun(name, 2, timeout=60)
    assert result.returncode != 0
    assert time.monotonic() - started < 30
    if name == "raises":
        assert "rank 1 fails on purpose" in result.stderr and "aborting the other ranks" in result.stderr


def test_a_silent_rank_times_out():
    started = time.monotonic()
    result = mpirun("silent", 2, timeout=60, env={"TAPEGRAD_DIST_TIMEOUT": "2"})
    assert result.returncode != 0 and time.monotonic() - started < 30
    assert "rank 0 waited 2 s for the other ranks" in result.stderr, result.stderr[-3000:]


def test_cli_two_ranks_match_one_process_and_the_checkpoint_loads_alone(tmp_path):
    """`mpiexec -n 2 tapegrad train --distributed` against the plain single-process run: same global batch,
    same parameters up to float32 rounding (2e-6), same held-out accuracy from a single-process eval."""
    import numpy as np

    import tapegrad as tg
    from tapegrad import train

    common = ["--model", "mlp", "--epochs", "1", "--batch-size", "30"]  # 1438 % 30 = 28: a short last batch
    _ok(python(["-m", "tapegrad", "train", *common, "--distributed", "--out", tmp_path / "two"], 2, timeout=300))
    _ok(python(["-m", "tapegrad", "train", *common, "--out", tmp_path / "one"], None, timeout=300))
    two, one = (tg.load(tmp_path / d / train.CHECKPOINT_NAME) for d in ("two", "one"))
    for k, v in one["model"].items():
        np.testing.assert_allclose(two["model"][k].numpy(), v.numpy(), atol=2e-6, err_msg=k)
    assert train.run_eval(tmp_path / "two", echo=lambda *a: None)["accuracy"] == one["history"]["test_acc"][-1]


def test_distributed_benchmark_reports_both_rank_counts(tmp_path):
    """benchmarks/distributed.py runs 1 and 2 ranks and reports a step time, the communication share and the
    bytes all-reduced per step (its timings are not checked: tests never assert speed)."""
    out = tmp_path / "dist.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks.distributed", "--steps", "1", "--json", str(out)],
                            capture_output=True, text=True, timeout=300, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    _ok(result)
    import json

    rows = json.loads(out.read_text())["results"]
    assert [r["ranks"] for r in rows] == [1, 2]
    assert all(r["bytes_per_step"] == 4 * (784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10) for r in rows)
    assert "comm share" in result.stdout
