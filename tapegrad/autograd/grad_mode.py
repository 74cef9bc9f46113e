"""Grad mode: whether ops record the graph. no_grad / enable_grad / set_grad_enabled / inference_mode."""

from __future__ import annotations

import functools
import threading

from ..errors import user_frame


class _State(threading.local):
    """Grad mode, one per thread as in PyTorch: a new thread starts with recording on, and one thread's no_grad
    (every optimizer.step() is one) does not stop another thread's recording."""

    enabled = True
    cut = ("no_grad", "<unknown>")  # why outputs made with grad off carry none (for autograd.explain)


STATE = _State()


class _AnomalyState(threading.local):
    """Anomaly mode, per thread like grad mode (autograd/anomaly.py sets it). The four switches are what the
    user set; `watch` is derived from them so that the engine reads one attribute: None when this thread
    checks nothing, else (check NaN, check Inf)."""

    detect = False  # PyTorch's set_detect_anomaly / detect_anomaly
    check_nan = True  # PyTorch's check_nan (counts only while detect is on)
    debug_nans = False  # JAX's jax_debug_nans
    debug_infs = False  # JAX's jax_debug_infs
    watch = None


ANOMALY = _AnomalyState()


def is_grad_enabled() -> bool:
    return STATE.enabled


class _GradModeContext:
    """Base for the grad-mode switches; each works as a context manager and as a decorator."""

    _mode: bool

    def __new__(cls, *args, **kwargs):
        # `@tg.no_grad` without parentheses (as PyTorch allows): decorate the function directly.
        if len(args) == 1 and not kwargs and callable(args[0]) and cls is not set_grad_enabled:
            return cls()(args[0])
        return super().__new__(cls)

    def __enter__(self):
        self._prev = STATE.enabled
        STATE.enabled = self._mode
        if not self._mode:
            STATE.cut = ("no_grad", user_frame())

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__._fresh(self):
                return fn(*args, **kwargs)

        return wrapper

    def _fresh(self):  # a new context per call so that recursion and threads nest correctly
        return self.__class__()


class no_grad(_GradModeContext):
    """Ops inside do not record the graph: outputs never require grad (`with tg.no_grad():`)."""

    _mode = False


class enable_grad(_GradModeContext):
    """Turns recording back on inside a no_grad region."""

    _mode = True


class inference_mode(_GradModeContext):
    """Like no_grad (tapegrad has no separate inference tensors); `inference_mode(False)` turns
    recording on inside, as in PyTorch."""

    def __init__(self, mode: bool = True):
        self._on = bool(mode)
        self._mode = not self._on

    def _fresh(self):
        return inference_mode(self._on)


class set_grad_enabled(_GradModeContext):
    """Sets grad mode at once (like PyTorch) and restores it when used as a context manager."""

    def __init__(self, mode: bool):
        self._prev = STATE.enabled
        self._mode = bool(mode)
        STATE.enabled = self._mode

    def __enter__(self):
        pass

    def __call__(self, fn):
        STATE.enabled = self._prev  # used as a decorator: the mode applies only inside fn
        return super().__call__(fn)

    def _fresh(self):
        return set_grad_enabled(self._mode)
