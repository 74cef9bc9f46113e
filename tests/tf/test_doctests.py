"""The examples in the docstrings of tapegrad/tf and nn/utils.py run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "tapegrad.tf.autodiff",
    "tapegrad.tf.clip",
    "tapegrad.tf.control_flow",
    "tapegrad.tf.custom_gradient",
    "tapegrad.tf.names",
    "tapegrad.tf.random",
    "tapegrad.tf.tape",
    "tapegrad.tf.variable",
    "tapegrad.nn.utils",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
