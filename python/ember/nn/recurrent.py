"""Recurrent layers: RNN, GRU, LSTM. Inputs are (..., L, D) (batch axes first, then time);
each returns the hidden state of every step, (..., L, H). Parameters are uniform in
+-1/sqrt(hidden_size), with MLX's names and PyTorch's gate order."""
import math
from typing import Callable, Optional

import ember.core as mx
from ember.nn.module import Module


def _check_input(name, x, d):
    if x.ndim < 2 or x.shape[-1] != d:
        raise ValueError(f"[{name}] Expects input (..., L, {d}), got shape {tuple(x.shape)}.")


class RNN(Module):
    """Elman RNN: h_t = nonlinearity(x_t Wxh^T + h_{t-1} Whh^T + bias) (tanh by default)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: Optional[Callable] = None):
        super().__init__()
        if nonlinearity is not None and not callable(nonlinearity):
            raise ValueError(f"[RNN] nonlinearity must be callable, got {type(nonlinearity).__name__}.")
        self.nonlinearity = nonlinearity or mx.tanh
        self.hidden_size = hidden_size
        s = 1.0 / math.sqrt(hidden_size)
        self.Wxh = mx.random.uniform(-s, s, (hidden_size, input_size))
        self.Whh = mx.random.uniform(-s, s, (hidden_size, hidden_size))
        if bias:
            self.bias = mx.random.uniform(-s, s, (hidden_size,))

    def _extra_repr(self):
        return f"input_dims={self.Wxh.shape[1]}, hidden_size={self.hidden_size}, bias={'bias' in self}"

    def __call__(self, x, hidden=None):
        _check_input("RNN", x, self.Wxh.shape[1])
        x = x @ self.Wxh.T
        if "bias" in self:
            x = x + self.bias
        out = []
        for t in range(x.shape[-2]):
            h = x[..., t, :]
            if hidden is not None:
                h = h + hidden @ self.Whh.T
            hidden = self.nonlinearity(h)
            out.append(hidden)
        return mx.stack(out, axis=-2)


class GRU(Module):
    """Gated recurrent unit (Cho et al. 2014), gates r, z, n stacked in ``Wx`` (3H, D) and
    ``Wh`` (3H, H); ``b`` (3H,) is added to the input projection and ``bhn`` (H,) to the
    hidden projection of n:

        r, z = sigmoid(x Wx_rz + b_rz + h Wh_rz);  n = tanh(x Wx_n + b_n + r (h Wh_n + bhn))
        h' = (1 - z) n + z h

    Without an initial hidden state, h starts at 0."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.hidden_size = hidden_size
        s = 1.0 / math.sqrt(hidden_size)
        self.Wx = mx.random.uniform(-s, s, (3 * hidden_size, input_size))
        self.Wh = mx.random.uniform(-s, s, (3 * hidden_size, hidden_size))
        if bias:
            self.b = mx.random.uniform(-s, s, (3 * hidden_size,))
            self.bhn = mx.random.uniform(-s, s, (hidden_size,))

    def _extra_repr(self):
        return f"input_dims={self.Wx.shape[1]}, hidden_size={self.hidden_size}, bias={'b' in self}"

    def __call__(self, x, hidden=None):
        _check_input("GRU", x, self.Wx.shape[1])
        H = self.hidden_size
        x = x @ self.Wx.T
        if "b" in self:
            x = x + self.b
        x_rz, x_n = x[..., : 2 * H], x[..., 2 * H:]
        out = []
        for t in range(x.shape[-2]):
            rz = x_rz[..., t, :]
            hp_n = None
            if hidden is not None:
                hp = hidden @ self.Wh.T
                rz = rz + hp[..., : 2 * H]
                hp_n = hp[..., 2 * H:]
            if "bhn" in self:
                hp_n = self.bhn if hp_n is None else hp_n + self.bhn
            rz = mx.sigmoid(rz)
            r, z = rz[..., :H], rz[..., H:]
            n = x_n[..., t, :]
            if hp_n is not None:
                n = n + r * hp_n
            n = mx.tanh(n)
            hidden = (1 - z) * n + (z * hidden if hidden is not None else 0)
            out.append(hidden)
        return mx.stack(out, axis=-2)


class LSTM(Module):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), gates i, f, g, o stacked in
    ``Wx`` (4H, D), ``Wh`` (4H, H) and ``bias`` (4H,):

        i, f, o = sigmoid(...);  g = tanh(...);  c' = f c + i g;  h' = o tanh(c')

    Returns (hidden states, cell states), each (..., L, H)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.hidden_size = hidden_size
        s = 1.0 / math.sqrt(hidden_size)
        self.Wx = mx.random.uniform(-s, s, (4 * hidden_size, input_size))
        self.Wh = mx.random.uniform(-s, s, (4 * hidden_size, hidden_size))
        if bias:
            self.bias = mx.random.uniform(-s, s, (4 * hidden_size,))

    def _extra_repr(self):
        return f"input_dims={self.Wx.shape[1]}, hidden_size={self.hidden_size}, bias={'bias' in self}"

    def __call__(self, x, hidden=None, cell=None):
        _check_input("LSTM", x, self.Wx.shape[1])
        H = self.hidden_size
        x = x @ self.Wx.T
        if "bias" in self:
            x = x + self.bias
        hs, cs = [], []
        for t in range(x.shape[-2]):
            gates = x[..., t, :]
            if hidden is not None:
                gates = gates + hidden @ self.Wh.T
            i = mx.sigmoid(gates[..., :H])
            f = mx.sigmoid(gates[..., H:2 * H])
            g = mx.tanh(gates[..., 2 * H:3 * H])
            o = mx.sigmoid(gates[..., 3 * H:])
            cell = f * cell + i * g if cell is not None else i * g
            hidden = o * mx.tanh(cell)
            hs.append(hidden)
            cs.append(cell)
        return mx.stack(hs, axis=-2), mx.stack(cs, axis=-2)
