"""The README's tour runs as written: its python blocks execute in order, and the seed values come out."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_tour_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) >= 4
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = compile("\n".join(blocks), str(README), "exec")
        exec(code, {"__name__": "readme"})  # noqa: S102  (our own README)
    out = printed.getvalue()
    assert "tensor([[2., 3.]," in out and "tensor([2., 3., 4., 5.])" in out and "tensor(54.)" in out
    assert "tensor(1.)" in out and "True" in out


def test_readme_has_exactly_two_setup_commands():
    text = README.read_text(encoding="utf-8")
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```\n(.*?)\n```", setup, re.DOTALL)
    assert commands == ['pip install ".[viz]" && tapegrad train', 'pip install ".[test]" && python -m pytest']
