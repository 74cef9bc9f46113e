"""docs/errors.md stays true: each example raises (or warns) the type and message fragment on its first line, every
public error type of the package is on the page, and the APIs that the page and the package's error messages point
users to exist."""

import ast
import builtins
import importlib
import os
import pathlib
import re
import runpy
import subprocess
import sys
import warnings

import pytest

import tapegrad as tg

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "errors.md").read_text()
# ```python or ```sh, then a first line "# raises TYPE: fragment", "# warns TYPE: fragment" or "# stderr fragment"
EXAMPLE = re.compile(r"```(python|sh)\n# (raises|warns|stderr) (.+?)\n(.*?)```", re.S)
EXAMPLES = EXAMPLE.findall(DOC)
# tg.x.y / tf.x.y: an API named in a message or on the page
API = re.compile(r"(?<![\w.])((?:tg|tapegrad)\.[A-Za-z_][\w.]*\w)")
TF = re.compile(r"(?<![\w.])tf\.")  # TensorFlow's names in messages: tg.tf.<name>


def _resolve(dotted: str):
    """The object a dotted name names: a builtin, or the longest importable module prefix and attributes after it."""
    parts = dotted.split(".")
    if len(parts) == 1:
        return getattr(builtins, dotted)
    if parts[0] == "tg":
        parts[0] = "tapegrad"
    for i in range(len(parts), 0, -1):  # tapegrad.trace.function is a module, though tapegrad.trace.function is not
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def _expectation(kind, spec):
    if kind == "stderr":
        return None, spec
    name, _, fragment = spec.partition(": ")
    return _resolve(name), fragment


@pytest.fixture
def _clean_state():
    """Examples change the environment or settings only through what a user would; put it back afterwards."""
    env = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(env)
    tg.autograd.set_detect_anomaly(False)
    tg.func.config.update("jax_debug_nans", False)
    tg.func.config.update("jax_debug_infs", False)


def test_the_page_has_examples():
    assert len(EXAMPLES) >= 20


@pytest.mark.usefixtures("_clean_state")
@pytest.mark.parametrize("lang, kind, spec, code", EXAMPLES, ids=[e[2][:60] for e in EXAMPLES])
def test_example_raises_what_the_page_says(lang, kind, spec, code, tmp_path):
    expected, fragment = _expectation(kind, spec)
    if lang == "sh":
        env = dict(os.environ, PYTHONPATH=str(ROOT), PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
        r = subprocess.run(["bash", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert fragment in r.stderr, r.stderr
        return
    script = tmp_path / "example.py"  # a file, so that tf.function's AutoGraph can read the source it converts
    script.write_text(code)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's own warnings about NaN / division; not what is checked
        if kind == "warns":
            with pytest.warns(expected, match=re.escape(fragment)):
                runpy.run_path(str(script))
            return
        with pytest.raises(expected) as err:
            runpy.run_path(str(script))
    assert type(err.value) is expected, f"raised {type(err.value).__qualname__}, the page says {expected.__qualname__}"
    assert fragment in str(err.value)


def _public_error_types():
    import tapegrad.backends.c.compiler  # noqa: F401  (modules the package imports late)
    import tapegrad.train  # noqa: F401

    for mod in list(sys.modules.values()):
        name = getattr(mod, "__name__", "")
        if not name.startswith("tapegrad.") or name.startswith("tapegrad.compare"):
            continue
        for attr, obj in vars(mod).items():
            if (isinstance(obj, type) and issubclass(obj, BaseException) and obj.__module__ == name
                    and not attr.startswith("_")):
                yield obj


def test_every_public_error_type_is_on_the_page():
    missing = sorted({t.__name__ for t in _public_error_types() if f"`{t.__name__}`" not in DOC
                      and f"{t.__name__}:" not in DOC and f"## {t.__name__}" not in DOC})
    assert not missing, f"error types not in docs/errors.md: {missing}"


def test_the_apis_the_page_names_exist():
    missing = [name for name in sorted(set(API.findall(DOC))) if not _exists(name)]
    assert not missing


def _exists(dotted):
    try:
        _resolve(dotted)
        return True
    except (AttributeError, ImportError):
        return False


def _message_strings():
    """(file, line, text) of the string constants in every raise statement and warnings.warn call of the package."""
    for path in sorted((ROOT / "tapegrad").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                part = node.exc
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "warn":
                part = node
            else:
                continue
            text = "".join(n.value for n in ast.walk(part) if isinstance(n, ast.Constant) and isinstance(n.value, str))
            yield path.relative_to(ROOT), node.lineno, text


def test_error_messages_point_to_apis_that_exist():
    """A message that sends users to tg.something must name something that exists (issue 18: the clipping
    messages named set_detect_anomaly / debug_nans before there were such functions)."""
    missing = [f"{path}:{line}: {name}" for path, line, text in _message_strings()
               for name in API.findall(TF.sub("tg.tf.", text)) if not _exists(name)]
    assert not missing


def test_the_clipping_messages_name_anomaly_mode():
    texts = [text for path, _, text in _message_strings() if path.name in ("utils.py", "clip.py") and "NaN" in text]
    assert len(texts) == 2 and all("tg.autograd.detect_anomaly()" in t for t in texts)
