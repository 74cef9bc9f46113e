"""`tapegrad graph MODULE:FUNCTION` as a new user runs it: next to mymodel.py, with the wrong --arg count,
an unwritable -o, something that is not a function, no Graphviz; one `tapegrad: error:` line, exit 2."""

import shutil
import sys

import pytest

from tapegrad import cli

MODEL = "import tapegrad as tg\nx = 3\n\ndef loss(w):\n    return (w * w).sum()\n"


@pytest.fixture
def here(tmp_path, monkeypatch, request):
    """A fresh module file in the current directory, which is not on sys.path (as for the console script)."""
    name = f"tgmodel_{request.node.name}"
    (tmp_path / f"{name}.py").write_text(MODEL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    yield name
    sys.modules.pop(name, None)


def _graph(argv, capsys):
    rc = cli.main(["graph", *argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_module_in_current_directory_is_found(here, capsys):
    rc, out, err = _graph([f"{here}:loss", "--arg", "3"], capsys)
    assert rc == 0, err
    assert out.startswith("digraph tapegrad")


def test_wrong_number_of_args_says_how_many(here, capsys):
    for args in ([], ["--arg", "3", "--arg", "4"]):
        rc, _, err = _graph([f"{here}:loss", *args], capsys)
        assert rc == 2 and err.startswith("tapegrad: error: graph:"), err
        assert "loss takes 1 argument" in err and "one --arg SHAPE per argument" in err
        assert len(err.strip().splitlines()) == 1


def test_not_a_function(here, capsys):
    rc, _, err = _graph([f"{here}:x", "--arg", "3"], capsys)
    assert rc == 2 and "is not a function" in err and "Traceback" not in err


def test_output_folder_missing(here, tmp_path, capsys):
    rc, _, err = _graph([f"{here}:loss", "--arg", "3", "-o", str(tmp_path / "no" / "dir" / "g.dot")], capsys)
    assert rc == 2 and "does not exist" in err


def test_dot_output_says_what_it_wrote(here, tmp_path, capsys):
    rc, out, err = _graph([f"{here}:loss", "--arg", "3", "-o", "g.dot"], capsys)
    assert rc == 0, err
    assert out.strip() == "wrote g.dot" and (tmp_path / "g.dot").read_text().startswith("digraph")


def test_png_without_graphviz_fails_with_one_line(here, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    rc, _, err = _graph([f"{here}:loss", "--arg", "3", "-o", "g.png"], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "apt-get install graphviz" in err and "g.png.dot" in err and "Warning" not in err
    assert (tmp_path / "g.png.dot").is_file() and not (tmp_path / "g.png").exists()
