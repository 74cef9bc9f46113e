"""Registry-driven: every primitive's batching rule, through vmap, equals a Python loop over the examples.

For each primitive and each sample case (tests/primitives/samples.py), three examples are made from the
case's arguments (floats shifted, integer and bool arrays rolled, so indices stay valid), and the
primitive is vmapped with several in_axes: all batched on axis 0, each argument alone batched, all batched
on their last axis. A primitive without a batching rule fails test_every_primitive_has_a_batching_rule.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.primitives import PRIMITIVES, Primitive, bind
from tests.primitives.samples import SAMPLES

B = 3


def _examples(a):
    if a.dtype.kind == "f":
        return [np.asarray(a + 0.01 * k, a.dtype) for k in range(B)]
    if a.ndim == 0:
        return [a.copy() for _ in range(B)]
    return [np.roll(a.ravel(), k).reshape(a.shape) for k in range(B)]


def _configs(nargs, ndims):
    yield "all0", [0] * nargs
    if nargs > 1:
        for i in range(nargs):
            yield f"only{i}", [0 if j == i else None for j in range(nargs)]
    yield "last", [nd for nd in ndims]  # after stacking, an example's ndim is the last axis


def _cases():
    out = []
    for name in sorted(PRIMITIVES):
        make = SAMPLES.get(name)
        if make is None:
            continue
        for i, case in enumerate(make(np.random.default_rng(zlib.crc32(name.encode())))):
            out.append(pytest.param(PRIMITIVES[name], case, id=f"{name}-{i}-{case!r}"))
    return out


def test_every_primitive_has_a_batching_rule():
    missing = [name for name, prim in PRIMITIVES.items() if type(prim).batch is Primitive.batch]
    assert not missing, f"primitives without a batching rule: {missing}"


@pytest.mark.parametrize("prim,case", _cases())
def test_batching_rule_matches_loop(prim, case):
    examples = [_examples(a) for a in case.args]  # per argument, B arrays
    for label, axes in _configs(len(case.args), [a.ndim for a in case.args]):
        args, per_example = [], []
        for ex, ax in zip(examples, axes):
            if ax is None:
                args.append(tg.tensor(ex[0]))
                per_example.append([ex[0]] * B)
            else:
                args.append(tg.tensor(np.stack(ex, axis=ax)))
                per_example.append(ex)
        expected = [np.asarray(prim.impl(*[pe[k] for pe in per_example], **case.params)) for k in range(B)]
        got = tg.vmap(lambda *xs: bind(prim, *xs, **case.params), in_axes=tuple(axes))(*args)
        want = np.stack(expected)
        assert tuple(got.shape) == want.shape, f"{label}: shape {tuple(got.shape)} != loop's {want.shape}"
        assert got.dtype.np == want.dtype, f"{label}: dtype {got.dtype.name} != loop's {want.dtype}"
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=0, equal_nan=True, err_msg=label)
