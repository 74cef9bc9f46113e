"""Recurrent layers with PyTorch's names, shapes, parameter names and initialisation: RNN, LSTM and GRU (stacked,
bidirectional, batch_first, dropout between layers) and their cells, composed of matmuls and activations (so
they are differentiable to any order; a traced call unrolls the time loop). LSTM's proj_size is not supported.
"""

from __future__ import annotations

import math

from .. import dtype as dt
from ..ops import creation as _C
from ..ops import shape as _S
from ..ops.elementwise import sigmoid, tanh
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _linear(x, w, b):
    out = x @ w.mT
    return out if b is None else out + b


def _rnn_step(mode, x, state, w_ih, w_hh, b_ih, b_hh):
    """One time step of one direction of one layer: the new state (h, or (h, c) for LSTM)."""
    if mode == "LSTM":
        h, c = state
        gates = _linear(x, w_ih, b_ih) + _linear(h, w_hh, b_hh)
        i, f, g, o = _S.chunk(gates, 4, -1)
        c = sigmoid(f) * c + sigmoid(i) * tanh(g)
        return sigmoid(o) * tanh(c), c
    if mode == "GRU":
        gi, gh = _S.chunk(_linear(x, w_ih, b_ih), 3, -1), _S.chunk(_linear(state, w_hh, b_hh), 3, -1)
        r, z = sigmoid(gi[0] + gh[0]), sigmoid(gi[1] + gh[1])
        n = tanh(gi[2] + r * gh[2])
        return (1 - z) * n + z * state
    pre = _linear(x, w_ih, b_ih) + _linear(state, w_hh, b_hh)
    return tanh(pre) if mode == "RNN_TANH" else F.relu(pre)


def _check_input(name, input, input_size, batched_dims):
    if input.ndim not in (batched_dims - 1, batched_dims):
        raise ValueError(f"{name}: expected a {batched_dims - 1}-D (unbatched) or {batched_dims}-D input, got shape "
                         f"{tuple(input.shape)}")
    if input.shape[-1] != input_size:
        raise ValueError(f"{name}: input has {input.shape[-1]} features, the layer expects input_size={input_size}")


class RNNBase(Module):
    """The shared recurrent layer; mode is 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if proj_size:
            raise ValueError(f"{type(self).__name__}: proj_size is not supported; use proj_size=0 and a Linear layer "
                             "on the outputs")
        if not 0 <= dropout <= 1:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1], got {dropout}")
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        self.proj_size = 0
        gates = _GATES[mode] * hidden_size
        d = dtype or dt.get_default_dtype()
        for layer in range(num_layers):
            for suffix in ("", "_reverse") if bidirectional else ("",):
                width = input_size if layer == 0 else hidden_size * (2 if bidirectional else 1)
                self.register_parameter(f"weight_ih_l{layer}{suffix}", Parameter(_C.empty(gates, width, dtype=d)))
                self.register_parameter(f"weight_hh_l{layer}{suffix}", Parameter(_C.empty(gates, hidden_size, dtype=d)))
                if bias:
                    self.register_parameter(f"bias_ih_l{layer}{suffix}", Parameter(_C.empty(gates, dtype=d)))
                    self.register_parameter(f"bias_hh_l{layer}{suffix}", Parameter(_C.empty(gates, dtype=d)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.hidden_size) if self.hidden_size else 0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _weights(self, layer, suffix):
        get = self._parameters.get
        return (get(f"weight_ih_l{layer}{suffix}"), get(f"weight_hh_l{layer}{suffix}"),
                get(f"bias_ih_l{layer}{suffix}"), get(f"bias_hh_l{layer}{suffix}"))

    def forward(self, input, hx=None):
        name, lstm = type(self).__name__, self.mode == "LSTM"
        _check_input(name, input, self.input_size, 3)
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)  # (L, N, H_in)
        dirs = 2 if self.bidirectional else 1
        steps, n = x.shape[0], x.shape[1]
        if hx is None:
            zeros = _C.zeros(self.num_layers * dirs, n, self.hidden_size, dtype=x.dtype)
            hx = (zeros, zeros) if lstm else zeros
        elif not batched:
            hx = tuple(h.unsqueeze(1) for h in hx) if lstm else hx.unsqueeze(1)
        finals_h, finals_c = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(dirs):
                k = layer * dirs + direction
                state = (hx[0][k], hx[1][k]) if lstm else hx[k]
                weights = self._weights(layer, "_reverse" if direction else "")
                order = range(steps - 1, -1, -1) if direction else range(steps)
                seq = [None] * steps
                for t in order:
                    state = _rnn_step(self.mode, x[t], state, *weights)
                    seq[t] = state[0] if lstm else state
                outputs.append(_S.stack(seq, 0))
                finals_h.append(state[0] if lstm else state)
                if lstm:
                    finals_c.append(state[1])
            x = outputs[0] if dirs == 1 else _S.cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        out = x
        if batched and self.batch_first:
            out = out.transpose(0, 1)
        h_n = _S.stack(finals_h, 0)
        state = (h_n, _S.stack(finals_c, 0)) if lstm else h_n
        if not batched:
            out = out.squeeze(1)
            state = tuple(s.squeeze(1) for s in state) if lstm else state.squeeze(1)
        return out, state

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """An Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) (or relu).

    >>> import tapegrad as tg
    >>> out, h = tg.nn.RNN(3, 4, num_layers=2)(tg.zeros(5, 2, 3))
    >>> out.shape, h.shape
    ((5, 2, 4), (2, 2, 4))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """A long short-term memory layer (gates i, f, g, o); returns output, (h_n, c_n).

    >>> import tapegrad as tg
    >>> out, (h, c) = tg.nn.LSTM(3, 4, batch_first=True, bidirectional=True)(tg.zeros(2, 5, 3))
    >>> out.shape, h.shape, c.shape
    ((2, 5, 8), (2, 2, 4), (2, 2, 4))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """A gated recurrent unit layer (gates r, z, n as PyTorch: n = tanh(W_in x + b_in + r (W_hn h + b_hn))).

    >>> import tapegrad as tg
    >>> out, h = tg.nn.GRU(3, 4)(tg.zeros(5, 3))
    >>> out.shape, h.shape
    ((5, 4), (1, 4))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class RNNCellBase(Module):
    def __init__(self, mode, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bias
        gates = _GATES[mode] * hidden_size
        d = dtype or dt.get_default_dtype()
        self.weight_ih = Parameter(_C.empty(gates, input_size, dtype=d))
        self.weight_hh = Parameter(_C.empty(gates, hidden_size, dtype=d))
        self.register_parameter("bias_ih", Parameter(_C.empty(gates, dtype=d)) if bias else None)
        self.register_parameter("bias_hh", Parameter(_C.empty(gates, dtype=d)) if bias else None)
        bound = 1 / math.sqrt(hidden_size) if hidden_size else 0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def forward(self, input, hx=None):
        name, lstm = type(self).__name__, self.mode == "LSTM"
        _check_input(name, input, self.input_size, 2)
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            zeros = _C.zeros(x.shape[0], self.hidden_size, dtype=x.dtype)
            hx = (zeros, zeros) if lstm else zeros
        elif not batched:
            hx = tuple(h.unsqueeze(0) for h in hx) if lstm else hx.unsqueeze(0)
        out = _rnn_step(self.mode, x, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        if not batched:
            out = tuple(o.squeeze(0) for o in out) if lstm else out.squeeze(0)
        return out

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, bias,
                         device, dtype)
        self.nonlinearity = nonlinearity


class LSTMCell(RNNCellBase):
    """One LSTM step: (h', c') from input and (h, c)."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)


class GRUCell(RNNCellBase):
    """One GRU step: h' from input and h."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)
