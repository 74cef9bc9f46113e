"""Differential fuzzing: random programs (tests/reliability/fuzzprog.py) in PyTorch, tapegrad eager and tg.jit on
the numpy and C backends, values and first- and second-order gradients compared.

CI runs a bounded number of programs (FUZZ_EXAMPLES, about 20 s here). A long local run:

    TAPEGRAD_FUZZ_EXAMPLES=2000 pytest tests/reliability/test_fuzz.py -k random

Every failure it finds gets fixed and its shrunk program becomes a named regression test below.
"""

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import tapegrad as tg

from .fuzzprog import Input, Op, Program, check, programs

FUZZ_EXAMPLES = int(os.environ.get("TAPEGRAD_FUZZ_EXAMPLES", "40"))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize="TAPEGRAD_FUZZ_EXAMPLES" not in os.environ,
          suppress_health_check=list(HealthCheck))
@given(programs())
def test_random_programs_agree_with_pytorch(prog):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # nan and inf are compared, not reported
        check(prog)


# *** shrunk programs the fuzzer found, each fixed ***


def test_softmax_over_an_empty_dim_is_empty():
    # raised "amax: cannot reduce over an empty dimension"; PyTorch returns an empty tensor
    check(Program((Input((2, 3, 0, 0), "float32", "step"),), (Op("sin", (0,)), Op("softmax", (1,), (-2,))), (2,)))


def test_mean_over_nothing_has_a_zero_second_order_gradient():
    # the mean of an empty dim divided by a zero count: the second-order gradient of x1 was nan, PyTorch's 0
    prog = Program((Input((5, 1, 0, 4), "float64"), Input((4, 3), "float64")),
                   (Op("mean", (0,), ((2,), False)), Op("reshape", (2,), ((5, 4),)), Op("matmul", (3, 1))),
                   (4,), seed=633, ties=True)
    check(prog)


def test_a_numpy_scalar_keeps_its_dtype():
    # tg.tensor(np.float64(x)) was float32 (np.float64 is a Python float); PyTorch keeps float64
    assert tg.tensor(np.float64(1.5)).dtype is tg.float64 and tg.tensor(np.int32(2)).dtype is tg.int32
    check(Program((Input((), "float64"),), (Op("exp", (0,)),), (1,)))


# *** bugs reported with the issue ***


def test_unselected_side_of_minimum_gets_an_exact_zero():
    for op in (tg.minimum, lambda a, b: -tg.maximum(-a, -b)):
        x, y = tg.tensor([0.0, 4.0], requires_grad=True), tg.tensor([1.0, 1.0], requires_grad=True)
        with np.errstate(all="ignore"):
            tg.sqrt(op(x, y)).sum().backward()
        assert y.grad.tolist() == [0.0, 0.5] and x.grad.tolist() == [float("inf"), 0.0]


def test_ties_of_maximum_split_the_gradient_and_its_tangent():
    x, y = tg.tensor([1.0, 2.0]), tg.tensor([1.0, 3.0])
    out, tangent = tg.func.jvp(tg.maximum, (x, y), (tg.tensor([2.0, 5.0]), tg.tensor([4.0, 7.0])))
    assert tangent.tolist() == [3.0, 7.0]


@pytest.mark.parametrize("empty_shape,other_shape,dim", [((0,), (3,), 0), ((0,), (2, 3), 1), ((2, 0), (2, 3), 1),
                                                          ((0,), (0,), 0)])
def test_cat_gives_an_empty_input_an_empty_zero_gradient(empty_shape, other_shape, dim):
    a, b = tg.zeros(*empty_shape, requires_grad=True), tg.ones(*other_shape, requires_grad=True)
    out = tg.cat([a, b, a], dim)
    assert out.shape == b.shape or b.numel() == 0
    (out * 2).sum().backward()
    assert a.grad is not None and a.grad.shape == a.shape and b.grad.shape == b.shape


def test_softmax_and_log_softmax_of_empty_rows_compile():
    f = tg.jit(lambda t: (tg.nn.functional.softmax(t, dim=1), tg.nn.functional.log_softmax(t, dim=1)))
    assert [tuple(o.shape) for o in f(tg.ones(3, 0))] == [(3, 0), (3, 0)]
