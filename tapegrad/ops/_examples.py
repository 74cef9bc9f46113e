"""Docstring examples for ops that are made in bulk (factories, aliases), attached where their module ends."""

from __future__ import annotations


def attach_examples(namespace: dict, examples: dict) -> None:
    """For each name -> (summary, example) in examples: the function namespace[name] gets the example appended to
    its docstring (the summary stands in for a missing one), so tests/test_doctests.py runs it."""
    for name, (summary, example) in examples.items():
        fn = namespace[name]
        fn.__doc__ = f"{fn.__doc__ or summary}\n\n{example}\n"
