"""The examples run as tests, each on a tiny budget (one epoch, a few steps): they must not rot."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["mlp_torch", "mlp_tf", "cnn_torch", "cnn_tf"])
def test_digit_examples_learn_in_one_epoch(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # cnn_torch saves its weights to the working directory
    accuracy = _load(name).main(epochs=1)
    assert accuracy > 0.6, capsys.readouterr().out
    assert "held-out accuracy" in capsys.readouterr().out


def test_char_transformer_prints_samples(capsys):
    loss = _load("char_transformer").main(steps=3, sample_every=2, sample_length=12)
    out = capsys.readouterr().out
    assert "sonnets.txt: 3728 characters" in out and out.count("--- step") == 2
    assert loss < 4.2  # below log(53), the loss of a uniform guess, after a few steps


def test_shipped_text_is_described():
    assert "public domain" in (EXAMPLES / "data" / "README.md").read_text(encoding="utf-8")
    assert os.path.getsize(EXAMPLES / "data" / "sonnets.txt") < 20_000
