"""Grad mode: no_grad / enable_grad / set_grad_enabled / inference_mode as context managers and
decorators, with PyTorch's semantics."""

import pytest

import tapegrad as tg

torch = pytest.importorskip("torch")


def _records(lib):
    x = lib.ones(2, requires_grad=True)
    return (x * 2).requires_grad


def test_no_grad_context_and_nesting_with_enable_grad():
    for lib in (tg, torch):
        with lib.no_grad():
            assert not _records(lib) and not lib.is_grad_enabled()
            with lib.enable_grad():
                assert _records(lib)
            assert not _records(lib)
        assert _records(lib) and lib.is_grad_enabled()


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(ValueError), tg.no_grad():
        raise ValueError("boom")
    assert tg.is_grad_enabled()


@pytest.mark.parametrize("parens", [True, False])
@pytest.mark.parametrize("name", ["no_grad", "inference_mode"])
def test_off_switches_as_decorators_with_and_without_parentheses(name, parens):
    for lib in (tg, torch):
        switch = getattr(lib, name)
        deco = switch() if parens else switch

        @deco
        def f(t):
            """doc kept"""
            return t * 2

        x = lib.ones(2, requires_grad=True)
        assert not f(x).requires_grad
        assert (x * 2).requires_grad
        assert f.__doc__ == "doc kept"


@pytest.mark.parametrize("parens", [True, False])
def test_enable_grad_decorator(parens):
    for lib in (tg, torch):
        deco = lib.enable_grad() if parens else lib.enable_grad

        @deco
        def f(t):
            return t * 2

        with lib.no_grad():
            assert f(lib.ones(2, requires_grad=True)).requires_grad


def test_set_grad_enabled_as_function_context_and_decorator():
    for lib in (tg, torch):
        lib.set_grad_enabled(False)
        try:
            assert not _records(lib)
        finally:
            lib.set_grad_enabled(True)
        assert _records(lib)
        with lib.set_grad_enabled(False):
            assert not _records(lib)
        assert _records(lib)
        with lib.no_grad():
            with lib.set_grad_enabled(True):
                assert _records(lib)
            assert not _records(lib)

        @lib.set_grad_enabled(False)
        def f(lib=lib):
            return _records(lib)

        assert _records(lib)  # decorating does not change the mode outside f
        assert not f()
        assert _records(lib)


def test_inference_mode_false_turns_recording_on_like_torch():
    for lib in (tg, torch):
        with lib.inference_mode(False):
            assert _records(lib)
        with lib.no_grad():
            with lib.inference_mode(False):
                assert _records(lib)
            assert not _records(lib)
        with lib.inference_mode():
            assert not _records(lib)


def test_decorated_function_is_reentrant():
    @tg.no_grad()
    def f(n):
        assert not tg.is_grad_enabled()
        return f(n - 1) if n else _records(tg)

    assert not f(3)
    assert tg.is_grad_enabled()


def test_no_grad_results_are_leaves_and_backward_graph_is_not_recorded():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.no_grad():
        y = x * x
    assert y.is_leaf and y.grad_fn is None and not y.requires_grad
    z = (x * x).sum()
    with tg.no_grad():
        z.backward()  # backward still works under no_grad
    assert x.grad is not None and not x.grad.requires_grad
