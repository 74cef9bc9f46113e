"""Edge cases vs PyTorch: empty and size-1 dims, int / bool / uint8 dtypes, nan, unusual arguments.

Known differences, not tested here:
maximum/minimum send no gradient through a nan; x[True] (a 0-d bool index); x[[[0, 1], [1, 0]]] follows
modern numpy (one integer-array index) where PyTorch keeps numpy's legacy tuple reading; matmul promotes
mixed dtypes where PyTorch refuses; no << / >> operators.
"""

import numpy as np
import pytest

import tapegrad as tg

from .helpers import check_op

torch = pytest.importorskip("torch")


def L(x):
    """The framework module of x: tg for tapegrad tensors, torch for torch tensors."""
    return tg if isinstance(x, tg.Tensor) else torch


CASES = {
    "repeat0": (lambda x: x.repeat(0, 2), [(2, 3)]),
    "split_zero_sizes": (lambda x: x.split([0, 2, 0], 0), [(2, 3)]),
    "unbind_empty": (lambda x: x.unbind(0), [(0, 3)]),
    "chunk_empty": (lambda x: x.chunk(3, 0), [(0, 3)]),
    "flatten_empty": (lambda x: x.flatten(), [(0, 3)]),
    "squeeze_empty": (lambda x: x.squeeze(), [(0, 1)]),
    "tril_rect": (lambda x: x.tril(1), [(3, 5)]),
    "triu_batch": (lambda x: x.triu(-1), [(2, 3, 4)]),
    "diag_1d": (lambda x: L(x).diag(x), [(3,)]),
    "diag_1d_off": (lambda x: L(x).diag(x, 1), [(3,)]),
    "diag_2d": (lambda x: L(x).diag(x, -1), [(3, 4)]),
    "diagonal_big_offset": (lambda x: x.diagonal(5), [(3, 4)]),
    "movedim_multi": (lambda x: x.movedim((0, 1), (-1, 0)), [(2, 3, 4)]),
    "narrow_tensor_start": (lambda x: x.narrow(0, 1, 1), [(3,)]),
    "roll_neg_big": (lambda x: x.roll(-7, 0), [(3, 2)]),
    "flip_empty_dims": (lambda x: x.flip(()), [(3,)]),
    "sum_list_dims": (lambda x: x.sum([0, 1]), [(2, 3, 4)]),
    "mean_keep_neg": (lambda x: x.mean((-1, 0), keepdim=True), [(2, 3, 4)]),
    "std_single": (lambda x: x.std(0, correction=0), [(1, 3)]),
    "max_int_dim": (lambda x: x.max(-1), [np.array([[1, 5, 2], [7, 7, 0]])]),
    "min_bool": (lambda x: x.min(), [np.array([True, False])]),
    "amax_bool": (lambda x: x.amax(0), [np.array([[True, False]])]),
    "sum_bool_keep": (lambda x: x.sum(0, keepdim=True), [np.array([[True, False]])]),
    "cumsum_neg_dim": (lambda x: x.cumsum(-2), [(3, 2)]),
    "logsumexp_int": (lambda x: x.logsumexp(0), [np.array([1, 2])]),
    "norm_int_err": (lambda x: x.float().norm(), [np.array([3, 4])]),
    "argsort_desc_int": (lambda x: x.argsort(descending=True), [np.array([3, 1, 2])]),
    "topk_int": (lambda x: x.topk(2, largest=False), [np.array([3, 1, 2])]),
    "sort_bool": (lambda x: x.sort(), [np.array([True, False, True])]),
    "where_scalar_both": (lambda c: L(c).where(c, 1.0, 0), [np.array([True, False])]),
    "where_int_scalar": (lambda c: L(c).where(c, 1, 0), [np.array([True, False])]),
    "clamp_tensor_int": (lambda x: x.clamp(min=L(x).tensor(2)), [np.array([1, 2, 3])]),
    "pow_int_tensor_exp": (lambda x: 2**x, [np.array([1, 2, 3])]),
    "pow_float_int": (lambda x: x ** L(x).tensor([1, 2]), [(2,)]),
    "pow_neg_base_frac": (lambda x: x**0.5, [np.array([-1.0, 4.0])]),
    "int_true_div_scalar": (lambda x: x / 2, [np.array([1, 3])]),
    "bool_add": (lambda x: x + x, [np.array([True, False])]),
    "bool_mul_float": (lambda x: x * 1.5, [np.array([True, False])]),
    "int8_overflow": (lambda x: x + x, [np.array([100, -100], np.int8)]),
    "uint8_sub": (lambda x: x - 5, [np.array([1, 200], np.uint8)]),
    "abs_int_min": (lambda x: x.abs(), [np.array([-128, 5], np.int8)]),
    "neg_uint8": (lambda x: -x, [np.array([1, 0], np.uint8)]),
    "sign_int": (lambda x: x.sign(), [np.array([-3, 0, 2])]),
    "sign_uint8": (lambda x: x.sign(), [np.array([3, 0], np.uint8)]),
    "sqrt_neg": (lambda x: x.sqrt(), [np.array([-1.0, 4.0])]),
    "log_zero": (lambda x: x.log(), [np.array([0.0, 1.0])]),
    "exp2_int": (lambda x: x.exp2(), [np.array([1, 2])]),
    "logit_eps_int": (lambda x: x.logit(), [np.array([0.25, 0.5])]),
    "frac_neg": (lambda x: x.frac(), [np.array([-1.5, 2.25])]),
    "trunc_int": (lambda x: x.trunc(), [np.array([-1, 2])]),
    "round_decimals_neg": (lambda x: x.round(decimals=-1), [np.array([15.0, 24.0, 35.0])]),
    "nan_to_num_f16": (lambda x: x.nan_to_num(), [np.array([np.inf, np.nan], np.float16)]),
    "lerp_tensor_weight": (lambda x, y, w: L(x).lerp(x, y, w), [(3,), (3,), (1,)]),
    "atan2_int": (lambda x, y: L(x).atan2(x, y), [np.array([1, 2]), np.array([2, 1])]),
    "maximum_int_float": (lambda x, y: L(x).maximum(x, y), [np.array([1, 5]), (2,)]),
    "fmax_nan": (lambda x, y: L(x).fmax(x, y), [np.array([np.nan, 1.0]), np.array([0.0, np.nan])]),
    "remainder_float_neg": (lambda x: x % -0.7, [(4,)]),
    "fmod_tensor": (lambda x, y: L(x).fmod(x, y), [(4,), np.array([0.5, -0.5, 1.0, 2.0])]),
    "eq_bool_int": (lambda x: x == 1, [np.array([True, False])]),
    "lt_uint8_neg": (lambda x: x < -1, [np.array([1, 2], np.uint8)]),
    "gt_int_float": (lambda x: x > 1.5, [np.array([1, 2])]),
    "bitwise_not_uint8": (lambda x: ~x, [np.array([0, 255], np.uint8)]),
    "xor_bool_int": (lambda x, y: x ^ y, [np.array([True, False]), np.array([3, 4])]),
    "logical_float": (lambda x, y: L(x).logical_and(x, y), [np.array([0.0, 1.0]), np.array([1, 1])]),
    "matmul_1d_1d_int": (lambda x, y: x @ y, [np.array([1, 2]), np.array([3, 4])]),
    "outer_mixed": (lambda x, y: L(x).outer(x, y), [np.array([1, 2]), (2,)]),
    "einsum_int": (lambda x: L(x).einsum("ij->j", x), [np.array([[1, 2], [3, 4]])]),
    "einsum_bmm_ellipsis_out": (lambda x, y: L(x).einsum("...ij,...jk", x, y), [(2, 3, 4), (2, 4, 5)]),
    "einsum_repeated_out_order": (lambda x: L(x).einsum("ijk->kji", x), [(2, 3, 4)]),
    "index_tensor_int0d": (lambda x: x[L(x).tensor(1)], [(3, 2)]),
    "index_mask_and_slice": (lambda x: x[x[:, 0] > 0, 1:], [(4, 3)]),
    "index_ellipsis_array": (lambda x: x[..., [0, 0]], [(2, 3)]),
    "gather_neg_idx": (lambda x: x.gather(0, L(x).tensor([[0, 1]])), [(2, 2)]),
    "take_along_neg": (lambda x: L(x).take_along_dim(x, L(x).tensor([[1], [0]]), -1), [(2, 2)]),
    "index_select_int": (lambda x: x.index_select(0, L(x).tensor([1, 1])), [np.array([[1, 2], [3, 4]])]),
    "masked_fill_bcast_val_tensor": (lambda x: x.masked_fill(x > 0, L(x).tensor(0.5)), [(3,)]),
    "scatter_value_int": (lambda x: x.scatter(0, L(x).tensor([1]), 9), [np.array([1, 2, 3])]),
    "argmax_nan": (lambda x: x.argmax(), [np.array([1.0, np.nan, 3.0])]),
    "amax_nan": (lambda x: x.amax(), [np.array([1.0, np.nan, 3.0])]),
    "max_dim_nan": (lambda x: x.max(0), [np.array([1.0, np.nan, 3.0])]),
    "sort_nan": (lambda x: x.sort(), [np.array([1.0, np.nan, 0.0])]),
    "cummax_absent": (lambda x: x.cumsum(0), [(0,)]),
    "var_int_dtype_err": (lambda x: x.float().var(), [np.array([1, 2, 3])]),
    "mean_bool_dtype": (lambda x: x.float().mean(), [np.array([True, False])]),
    "prod_empty_all": (lambda x: x.prod(), [(0,)]),
    "all_float_nan": (lambda x: x.all(), [np.array([np.nan, 1.0])]),
    "any_empty": (lambda x: x.any(1), [(2, 0)]),
    "count_nonzero_tuple": (lambda x: L(x).count_nonzero(x, (0, 1)), [np.array([[0, 1], [2, 0]])]),
    "new_zeros": (lambda x: x.new_zeros(2, 3), [np.array([1, 2], np.int32)]),
    "new_ones_tuple": (lambda x: x.new_ones((2,)), [(1,)]),
    "new_full": (lambda x: x.new_full((2,), 3), [(1,)]),
    "new_tensor": (lambda x: x.new_tensor([1, 2]), [(1,)]),
    "type_as": (lambda x, y: x.type_as(y), [np.array([1, 2]), (2,)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_edge_case(name):
    f, shapes = CASES[name]
    check_op(f, f, shapes)


def test_negative_step_slice():
    """PyTorch refuses negative slice steps; tapegrad allows them (numpy semantics) and differentiates them."""
    check_op(lambda x: x[::-2], lambda x: x.flip(0)[::2], [(5,)])
    check_op(lambda x: x[-1:0:-1], lambda x: x.flip(0)[:-1], [(4, 2)])


def test_list_of_lists_index_is_one_array_index():
    x = tg.arange(6).reshape(3, 2)
    assert x[[[0, 1], [1, 0]]].shape == (2, 2, 2)  # as numpy >= 1.23
