"""docs/three-idioms.md runs as written: its python blocks execute in order and agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tapegrad as tg

DOC = Path(__file__).resolve().parents[2] / "docs" / "three-idioms.md"


def test_three_idioms_page_runs():
    if not hasattr(tg, "grad"):
        pytest.skip("the JAX idiom (tg.grad) is not available yet")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 5
    scope: dict = {"__name__": "three_idioms"}
    exec(compile("\n".join(blocks), str(DOC), "exec"), scope)  # noqa: S102  (our own docs)
    assert scope["torch_style"][0].shape == (2, 3) and scope["W"].grad is None  # the tape wrote no .grad
