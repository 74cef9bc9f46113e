"""Attention layers: MultiheadAttention, TransformerEncoderLayer and TransformerEncoder, with PyTorch's
parameter names (so state dicts move between the two) and its mask conventions."""

from __future__ import annotations

import copy
import math

from .. import dtype as dt
from ..ops.creation import empty, zeros
from ..ops.elementwise import where
from ..ops.linalg import matmul
from ..tensor import Tensor
from . import functional as F
from . import init
from .container import ModuleList
from .linear import Dropout, Linear
from .module import Module
from .norm import LayerNorm
from .parameter import Parameter


class MultiheadAttention(Module):
    """Attention with num_heads heads: softmax(Q K^T / sqrt(d) + mask) V per head, then an output projection.

    Inputs are (L, N, E), or (N, L, E) with batch_first=True, or unbatched (L, E). attn_mask (L, S) or
    (N * num_heads, L, S) and key_padding_mask (N, S) are bool (True = may NOT attend, PyTorch's convention for
    this layer) or float (added to the scores). Returns (output, weights averaged over heads, or None).
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim={embed_dim} must be divisible by num_heads={num_heads}")
        if add_bias_kv or add_zero_attn:
            raise ValueError(
                "MultiheadAttention: add_bias_kv=True and add_zero_attn=True are not supported by tapegrad; leave "
                "them False (the default), or append learned key/value rows to your inputs yourself"
            )
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim, self.vdim = kdim or embed_dim, vdim or embed_dim
        self.dropout, self.batch_first = dropout, batch_first
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        dtype = dtype or dt.get_default_dtype()
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, dtype=dtype))
        else:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, dtype=dtype))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, dtype=dtype))
        self.register_parameter("in_proj_bias", Parameter(empty(3 * embed_dim, dtype=dtype)) if bias else None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self):
        # PyTorch's: xavier-uniform projections, zero biases (the out_proj weight keeps Linear's default)
        for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            if name in self._parameters:
                init.xavier_uniform_(self._parameters[name])
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _projections(self):
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            weights = (w[:e], w[e : 2 * e], w[2 * e :])
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        b = self.in_proj_bias
        biases = (None,) * 3 if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
        return weights, biases

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif query.ndim != 3:
            raise ValueError(f"MultiheadAttention: expected 2-d or 3-d query, got shape {tuple(query.shape)}")
        if not self.batch_first:  # internally (N, L, E)
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        out, weights = self._attend(query, key, value, key_padding_mask, attn_mask, is_causal)
        out = self.out_proj(out)
        if not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return (out.squeeze(1) if unbatched else out), None
        if average_attn_weights:
            weights = weights.mean(1)
        return (out.squeeze(1), weights.squeeze(0)) if unbatched else (out, weights)

    def _attend(self, query, key, value, key_padding_mask, attn_mask, is_causal):
        (wq, wk, wv), (bq, bk, bv) = self._projections()
        n, length, source, h, d = query.shape[0], query.shape[1], key.shape[1], self.num_heads, self.head_dim
        q = F.linear(query, wq, bq).reshape(n, length, h, d).transpose(1, 2)
        k = F.linear(key, wk, bk).reshape(n, source, h, d).transpose(1, 2)
        v = F.linear(value, wv, bv).reshape(n, source, h, d).transpose(1, 2)
        scores = matmul(q, k.mT) * (1.0 / math.sqrt(d))
        mask = _additive_mask(attn_mask, key_padding_mask, is_causal, n, h, length, source, scores.dtype)
        if mask is not None:
            scores = scores + mask
        weights = F.softmax(scores, -1)
        if self.training and self.dropout > 0:
            weights = F.dropout(weights, self.dropout)
        out = matmul(weights, v).transpose(1, 2).reshape(n, length, self.embed_dim)
        return out, weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"


def _as_additive(mask, dtype):
    """Bool masks (True = blocked) become 0 / -inf; float masks are added as they are."""
    if mask.dtype is dt.bool_:
        return where(mask, -math.inf, zeros((), dtype=dtype))
    return mask.to(dtype)


def _additive_mask(attn_mask, key_padding_mask, is_causal, n, h, length, source, dtype):
    """One float mask broadcastable to the scores (N, H, L, S), or None."""
    mask = None
    if attn_mask is None and is_causal:
        import numpy as np

        attn_mask = Tensor._make(~np.tri(length, source, dtype=bool))
    if attn_mask is not None:
        mask = _as_additive(attn_mask, dtype)
        if mask.ndim == 3:
            if mask.shape[0] != n * h:
                raise ValueError(
                    f"MultiheadAttention: a 3-d attn_mask must have shape (N * num_heads, L, S) = ({n * h}, {length}, "
                    f"{source}), got {tuple(mask.shape)}"
                )
            mask = mask.reshape(n, h, length, source)
        elif mask.shape != (length, source):
            raise ValueError(
                f"MultiheadAttention: attn_mask must have shape (L, S) = ({length}, {source}), got {tuple(mask.shape)}"
            )
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (n, source):
            raise ValueError(
                f"MultiheadAttention: key_padding_mask must have shape (N, S) = ({n}, {source}), got "
                f"{tuple(key_padding_mask.shape)}"
            )
        pad = _as_additive(key_padding_mask, dtype).reshape(n, 1, 1, source)
        mask = pad if mask is None else mask + pad
    return mask


def _activation_fn(activation):
    if callable(activation):
        return activation
    fns = {"relu": F.relu, "gelu": F.gelu}
    if activation not in fns:
        raise ValueError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a callable, got {activation!r}")
    return fns[activation]


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with dropout, a residual and LayerNorm (after the block,
    or before it with norm_first=True), as in "Attention Is All You Need"."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5,
                 batch_first=False, norm_first=False, bias=True, device=None, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)
        self.activation = _activation_fn(activation)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """num_layers copies of encoder_layer applied in turn (each with its own parameters), then an optional norm."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers, self.norm = num_layers, norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return self.norm(x) if self.norm is not None else x
