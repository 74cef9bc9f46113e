"""The `tapegrad` command line: `demo` trains and its loss falls; `python -m tapegrad` works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tapegrad import cli

ROOT = Path(__file__).resolve().parents[1]


def test_demo_loss_falls(capsys):
    assert cli.main(["demo", "--epochs", "6", "--seed", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    losses = [float(m.group(1)) for m in (re.search(r"loss (\d+\.\d+)\s+train", ln) for ln in lines) if m]
    assert len(losses) == 6
    assert losses[-1] < 0.9 * losses[0], lines
    assert re.search(r"test acc\s+[\d.]+%", lines[-2])


def test_run_demo_is_reproducible_and_learns():
    first = cli.run_demo(epochs=4, seed=3, out=lambda line: None)
    again = cli.run_demo(epochs=4, seed=3, out=lambda line: None)
    assert first == again
    assert first[-1][0] < first[0][0]
    assert first[-1][1] > 1 / 3  # better than chance on three classes


def test_spirals_shape_and_labels():
    x, y = cli.make_spirals(n_per_class=10)
    assert x.shape == (30, 2) and y.shape == (30,)
    assert sorted(set(y.tolist())) == [0, 1, 2]


def test_bad_arguments_exit_with_usage(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["demo", "--epochs", "0"])
    assert info.value.code == 2
    assert "--epochs" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_python_dash_m_tapegrad():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-m", "tapegrad", "demo", "--epochs", "2"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "epoch   2/2" in proc.stdout
