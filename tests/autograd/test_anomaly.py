"""Anomaly mode: PyTorch's set_detect_anomaly / detect_anomaly and JAX's debug_nans / debug_infs name the primitive
whose forward or backward first made a NaN (Inf for debug_infs) and the user's line; off by default, per thread."""

import inspect
import threading

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.autograd import engine
from tapegrad.errors import AnomalyError
from tapegrad.primitives import base

pytestmark = pytest.mark.filterwarnings("ignore:(invalid value|divide by zero):RuntimeWarning")


def _here(offset=0) -> str:
    """'test_anomaly.py:N' for the caller's line plus offset: what the error must name."""
    return f"test_anomaly.py:{inspect.currentframe().f_back.f_lineno + offset}"


@pytest.fixture(autouse=True)
def _anomaly_off_after():
    yield
    tg.autograd.set_detect_anomaly(False)
    tg.func.config.update("jax_debug_nans", False)
    tg.func.config.update("jax_debug_infs", False)


def test_off_by_default_nan_flows_silently_and_bind_is_unchecked():
    assert not tg.autograd.is_anomaly_enabled() and tg.autograd.is_anomaly_check_nan_enabled()
    assert not tg.func.config.jax_debug_nans and not tg.func.config.jax_debug_infs
    assert base._eager_apply is engine.eager_apply  # the hot path is the plain one: nothing to pay
    x = tg.tensor([-1.0, 0.0], requires_grad=True)
    y = x.log()
    (y * 0).sum().backward()
    assert np.isnan(y.numpy()[0])


@pytest.mark.parametrize("make, prim", [
    (lambda x: x.log(), "log"),
    (lambda x: x / x, "div"),  # 0/0 at x = 0
    (lambda x: x.sqrt(), "sqrt"),
])
def test_forward_nan_names_the_primitive_and_the_users_line(make, prim):
    x = tg.tensor([-1.0, 0.0], requires_grad=True)
    with tg.autograd.detect_anomaly(), pytest.raises(AnomalyError) as err:
        make(x)
    msg = str(err.value)
    line = f"test_anomaly.py:{make.__code__.co_firstlineno} in <lambda>"  # the innermost line outside tapegrad
    assert f"primitive {prim!r} produced NaN" in msg and line in msg and "inputs held no NaN" in msg


def test_nan_only_in_backward_names_the_forward_line_not_the_backward_call():
    x = tg.tensor([0.0, 4.0], requires_grad=True)
    with tg.autograd.detect_anomaly():
        line = _here(1)
        y = x.sqrt() * tg.tensor([0.0, 1.0])  # forward finite; sqrt's derivative at 0 is inf, times 0 is NaN
        with pytest.raises(AnomalyError) as err:
            y.sum().backward()
    msg = str(err.value)
    assert "backward of primitive 'sqrt' (SqrtBackward) returned NaN" in msg and line in msg
    assert isinstance(err.value, RuntimeError) and isinstance(err.value, FloatingPointError)


def test_pytorch_raises_on_the_same_backward_nan():
    torch = pytest.importorskip("torch")
    x = torch.tensor([0.0, 4.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Anomaly"), torch.autograd.detect_anomaly(), pytest.raises(RuntimeError, match="nan"):
        (x.sqrt() * torch.tensor([0.0, 1.0])).sum().backward()


def test_nan_that_came_in_with_the_data_is_said_so():
    with tg.autograd.detect_anomaly(), pytest.raises(AnomalyError, match="input 0 already held NaN"):
        tg.tensor([float("nan")]) * 2


def test_nan_in_the_gradient_passed_to_backward_is_said_so():
    x = tg.tensor([1.0], requires_grad=True)
    with tg.autograd.detect_anomaly():
        y = x * 2
        with pytest.raises(AnomalyError, match="gradient flowing into it already held NaN"):
            y.backward(tg.tensor([float("nan")]))


def test_inf_is_checked_by_debug_infs_only_as_in_pytorch_and_jax():
    one, zero = tg.tensor([1.0]), tg.tensor([0.0])
    with tg.autograd.detect_anomaly(), tg.func.debug_nans(True):
        assert np.isinf((one / zero).numpy()).all()  # neither PyTorch's anomaly mode nor debug_nans looks for Inf
    with tg.func.debug_infs(True), pytest.raises(FloatingPointError, match="'div' produced Inf"):
        one / zero


def test_check_nan_false_records_lines_and_notes_them_on_backward_errors():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with tg.autograd.detect_anomaly(check_nan=False):
        assert not tg.autograd.is_anomaly_check_nan_enabled()
        tg.tensor([-1.0]).log()  # NaN, but not checked
        line = _here(1)
        y = x.exp()
        y.add_(1)  # exp saved its output: backward fails, and anomaly mode says where exp was made
        with pytest.raises(tg.GradError) as err:
            y.sum().backward()
    assert any(line in note and "ExpBackward" in note for note in err.value.__notes__)


def test_custom_function_backward_nan_names_its_apply_line():
    class Bad(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = tg.tensor([1.0], requires_grad=True)
    with tg.autograd.detect_anomaly():
        line = _here(1)
        y = Bad.apply(x)
        with pytest.raises(AnomalyError, match="backward of BadBackward returned NaN") as err:
            y.sum().backward()
    assert line in str(err.value)


def test_context_manager_and_set_detect_anomaly_restore_the_previous_state():
    with tg.autograd.set_detect_anomaly(True):
        assert tg.autograd.is_anomaly_enabled()
        with tg.autograd.detect_anomaly(check_nan=False):
            assert not tg.autograd.is_anomaly_check_nan_enabled()
        assert tg.autograd.is_anomaly_enabled() and tg.autograd.is_anomaly_check_nan_enabled()
        with pytest.raises(ValueError), tg.autograd.set_detect_anomaly(False):
            assert not tg.autograd.is_anomaly_enabled()
            raise ValueError
        assert tg.autograd.is_anomaly_enabled()
    assert not tg.autograd.is_anomaly_enabled()
    assert base._eager_apply is engine.eager_apply  # the last thread turned it off: the plain path is back


def test_set_detect_anomaly_as_a_function_and_detect_anomaly_as_a_decorator():
    tg.autograd.set_detect_anomaly(True)
    assert tg.autograd.is_anomaly_enabled()
    tg.autograd.set_detect_anomaly(False)

    @tg.autograd.detect_anomaly()
    def f(x):
        assert tg.autograd.is_anomaly_enabled()
        return x.log()

    with pytest.raises(AnomalyError):
        f(tg.tensor([-1.0]))
    assert not tg.autograd.is_anomaly_enabled()


def test_anomaly_mode_is_per_thread():
    seen = {}

    def other():
        seen["enabled"] = tg.autograd.is_anomaly_enabled()
        seen["value"] = tg.tensor([-1.0]).log().numpy()[0]  # no error: this thread did not ask

    with tg.autograd.detect_anomaly():
        t = threading.Thread(target=other)
        t.start()
        t.join()
        with pytest.raises(AnomalyError):
            tg.tensor([-1.0]).log()
    assert seen["enabled"] is False and np.isnan(seen["value"])


def test_jax_spelling_config_update_and_debug_nans_context():
    cfg = tg.func.config
    cfg.update("jax_debug_nans", True)
    assert cfg.jax_debug_nans and not tg.autograd.is_anomaly_enabled()
    with pytest.raises(FloatingPointError, match="'log' produced NaN"):
        tg.tensor([-1.0]).log()
    cfg.update("jax_debug_nans", False)
    tg.tensor([-1.0]).log()
    with tg.func.debug_nans(True):
        assert cfg.jax_debug_nans
        with tg.func.debug_nans(False):
            tg.tensor([-1.0]).log()
        with pytest.raises(FloatingPointError):
            tg.func.grad(lambda x: (x.sqrt() * 0.0).sum())(tg.tensor([0.0]))  # NaN in the backward rule
    assert not cfg.jax_debug_nans
    with pytest.raises(AttributeError, match="Unrecognized config option"):
        cfg.update("jax_debug_nanz", True)


def test_jit_outputs_are_checked_and_the_message_says_how_to_find_the_op():
    f = tg.jit(lambda x: x.log() * 2, backend="numpy")
    f(tg.tensor([-1.0]))  # off: no check
    with tg.autograd.detect_anomaly(), pytest.raises(AnomalyError, match="tg.jit function .* holds NaN") as err:
        f(tg.tensor([-1.0]))
    assert "without tg.jit" in str(err.value)
