"""The docstring examples of tg.nn and tg.optim run as tests."""

import doctest
import importlib

import pytest

MODULES = ["tapegrad.nn.module", "tapegrad.nn.linear", "tapegrad.nn.conv", "tapegrad.nn.container",
           "tapegrad.nn.losses", "tapegrad.nn.init", "tapegrad.nn.parameter", "tapegrad.optim.sgd"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
