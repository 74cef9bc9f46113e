"""The examples in docstrings run as doctests (module by module, with `tg` and `F` predefined)."""

import doctest
import importlib

import pytest

import tapegrad as tg
import tapegrad.nn.functional as F

MODULES = [
    "tapegrad", "tapegrad.tensor", "tapegrad.ops.activation", "tapegrad.ops.elementwise", "tapegrad.ops.shape",
    "tapegrad.ops.reduce", "tapegrad.ops.index", "tapegrad.nn.functional", "tapegrad.autograd.forward_ad",
    "tapegrad.cuda", "tapegrad.trace.compile", "tapegrad.func.vmap", "tapegrad.func.forward",
    "tapegrad.autograd.anomaly", "tapegrad.ops.linalg", "tapegrad.ops.creation", "tapegrad.ops.conv",
    "tapegrad.ops.special", "tapegrad.special", "tapegrad.linalg", "tapegrad.torch_extras",
    "tapegrad.nn.rnn", "tapegrad.nn.container",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs={"tg": tg, "F": F}, optionflags=doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed in {name}"
