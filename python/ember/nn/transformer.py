"""Attention and the Transformer family (Vaswani et al. 2017): MultiHeadAttention,
TransformerEncoderLayer / TransformerEncoder, TransformerDecoderLayer /
TransformerDecoder and Transformer, with MLX's constructor arguments and parameter names.
Layers are pre-norm (norm_first=True) by default, as in MLX."""
import math
from typing import Any, Callable, Optional

import ember.core as mx
from ember.nn.activations import relu
from ember.nn.layers import Dropout, Linear
from ember.nn.module import Module
from ember.nn.normalization import LayerNorm


class MultiHeadAttention(Module):
    """Attention with ``num_heads`` heads and the projections ``query_proj``,
    ``key_proj``, ``value_proj`` and ``out_proj``. Inputs are (B, L, D)."""

    def __init__(self, dims: int, num_heads: int, query_input_dims: Optional[int] = None,
                 key_input_dims: Optional[int] = None, value_input_dims: Optional[int] = None,
                 value_dims: Optional[int] = None, value_output_dims: Optional[int] = None,
                 bias: bool = False):
        super().__init__()
        if dims % num_heads:
            raise ValueError(f"[MultiHeadAttention] dims {dims} must be divisible by num_heads {num_heads}.")
        query_input_dims = query_input_dims or dims
        key_input_dims = key_input_dims or dims
        value_input_dims = value_input_dims or key_input_dims
        value_dims = value_dims or dims
        value_output_dims = value_output_dims or dims
        self.num_heads = num_heads
        self.query_proj = Linear(query_input_dims, dims, bias=bias)
        self.key_proj = Linear(key_input_dims, dims, bias=bias)
        self.value_proj = Linear(value_input_dims, value_dims, bias=bias)
        self.out_proj = Linear(value_dims, value_output_dims, bias=bias)

    @staticmethod
    def create_additive_causal_mask(N: int, dtype=mx.float32):
        """(N, N) with 0 on and below the diagonal and -1e9 above it."""
        idx = mx.arange(N)
        return (idx[:, None] < idx[None, :]).astype(dtype) * mx.array(-1e9, dtype=dtype)

    def __call__(self, queries, keys, values, mask=None):
        q, k, v = self.query_proj(queries), self.key_proj(keys), self.value_proj(values)
        h = self.num_heads
        B, L, _ = q.shape
        S = k.shape[1]
        q = mx.transpose(mx.reshape(q, (B, L, h, -1)), (0, 2, 1, 3))
        k = mx.transpose(mx.reshape(k, (B, S, h, -1)), (0, 2, 1, 3))
        v = mx.transpose(mx.reshape(v, (B, S, h, -1)), (0, 2, 1, 3))
        out = mx.fast.scaled_dot_product_attention(q, k, v, scale=1.0 / math.sqrt(q.shape[-1]),
                                                   mask=mask)
        return self.out_proj(mx.reshape(mx.transpose(out, (0, 2, 1, 3)), (B, L, -1)))


class TransformerEncoderLayer(Module):
    """Self-attention then an MLP (linear1, activation, linear2), each with a residual
    connection and a LayerNorm (before the block with norm_first, after it otherwise)."""

    def __init__(self, dims: int, num_heads: int, mlp_dims: Optional[int] = None,
                 dropout: float = 0.0, activation: Callable[[Any], Any] = relu,
                 norm_first: bool = True):
        super().__init__()
        mlp_dims = mlp_dims or dims * 4
        self.attention = MultiHeadAttention(dims, num_heads)
        self.ln1 = LayerNorm(dims)
        self.ln2 = LayerNorm(dims)
        self.linear1 = Linear(dims, mlp_dims)
        self.linear2 = Linear(mlp_dims, dims)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = activation
        self.norm_first = norm_first

    def _mlp(self, x):
        return self.linear2(self.dropout2(self.activation(self.linear1(x))))

    def __call__(self, x, mask):
        if self.norm_first:
            y = self.ln1(x)
            x = x + self.dropout1(self.attention(y, y, y, mask))
            return x + self._mlp(self.ln2(x))
        x = self.ln1(x + self.dropout1(self.attention(x, x, x, mask)))
        return self.ln2(x + self._mlp(x))


class TransformerEncoder(Module):
    """``num_layers`` TransformerEncoderLayers then a final LayerNorm ``ln``; with
    checkpoint, each layer's activations are recomputed in the backward pass."""

    def __init__(self, num_layers: int, dims: int, num_heads: int, mlp_dims: Optional[int] = None,
                 dropout: float = 0.0, activation=relu, norm_first: bool = True,
                 checkpoint: bool = False):
        super().__init__()
        self.layers = [TransformerEncoderLayer(dims, num_heads, mlp_dims, dropout, activation, norm_first)
                       for _ in range(num_layers)]
        self.ln = LayerNorm(dims)
        self.checkpoint = checkpoint

    def __call__(self, x, mask):
        for layer in self.layers:
            x = _checkpointed(layer, x, mask) if self.checkpoint else layer(x, mask)
        return self.ln(x)


class TransformerDecoderLayer(Module):
    """Self-attention, cross-attention over ``memory``, then an MLP, each with a residual
    connection and a LayerNorm."""

    def __init__(self, dims: int, num_heads: int, mlp_dims: Optional[int] = None,
                 dropout: float = 0.0, activation: Callable[[Any], Any] = relu,
                 norm_first: bool = True):
        super().__init__()
        mlp_dims = mlp_dims or dims * 4
        self.self_attention = MultiHeadAttention(dims, num_heads)
        self.cross_attention = MultiHeadAttention(dims, num_heads)
        self.ln1 = LayerNorm(dims)
        self.ln2 = LayerNorm(dims)
        self.ln3 = LayerNorm(dims)
        self.linear1 = Linear(dims, mlp_dims)
        self.linear2 = Linear(mlp_dims, dims)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = activation
        self.norm_first = norm_first

    def _mlp(self, x):
        return self.linear2(self.dropout3(self.activation(self.linear1(x))))

    def __call__(self, x, memory, x_mask, memory_mask):
        if self.norm_first:
            y = self.ln1(x)
            x = x + self.dropout1(self.self_attention(y, y, y, x_mask))
            y = self.ln2(x)
            x = x + self.dropout2(self.cross_attention(y, memory, memory, memory_mask))
            return x + self._mlp(self.ln3(x))
        x = self.ln1(x + self.dropout1(self.self_attention(x, x, x, x_mask)))
        x = self.ln2(x + self.dropout2(self.cross_attention(x, memory, memory, memory_mask)))
        return self.ln3(x + self._mlp(x))


class TransformerDecoder(Module):
    """``num_layers`` TransformerDecoderLayers then a final LayerNorm ``ln``."""

    def __init__(self, num_layers: int, dims: int, num_heads: int, mlp_dims: Optional[int] = None,
                 dropout: float = 0.0, activation=relu, norm_first: bool = True,
                 checkpoint: bool = False):
        super().__init__()
        self.layers = [TransformerDecoderLayer(dims, num_heads, mlp_dims, dropout, activation, norm_first)
                       for _ in range(num_layers)]
        self.ln = LayerNorm(dims)
        self.checkpoint = checkpoint

    def __call__(self, x, memory, x_mask, memory_mask):
        for layer in self.layers:
            if self.checkpoint:
                x = _checkpointed(layer, x, memory, x_mask, memory_mask)
            else:
                x = layer(x, memory, x_mask, memory_mask)
        return self.ln(x)


class Transformer(Module):
    """An encoder over ``src`` and a decoder over ``tgt`` attending to the encoder's
    output: ``model(src, tgt, src_mask, tgt_mask, memory_mask)``."""

    def __init__(self, dims: int = 512, num_heads: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, mlp_dims: Optional[int] = None, dropout: float = 0.0,
                 activation: Callable[[Any], Any] = relu, custom_encoder: Optional[Any] = None,
                 custom_decoder: Optional[Any] = None, norm_first: bool = True,
                 checkpoint: bool = False):
        super().__init__()
        self.encoder = custom_encoder or TransformerEncoder(
            num_encoder_layers, dims, num_heads, mlp_dims, dropout, activation, norm_first, checkpoint)
        self.decoder = custom_decoder or TransformerDecoder(
            num_decoder_layers, dims, num_heads, mlp_dims, dropout, activation, norm_first, checkpoint)

    def __call__(self, src, tgt, src_mask, tgt_mask, memory_mask):
        memory = self.encoder(src, src_mask)
        return self.decoder(tgt, memory, tgt_mask, memory_mask)


def _checkpointed(layer, *args):
    """Calls layer(*args) with its activations recomputed in the backward pass."""
    params = layer.trainable_parameters()
    from ember.utils import _flatten, _unflatten

    leaves, struct = _flatten(params)
    arrays = [a for a in args if isinstance(a, mx.array)]
    n = len(leaves)

    def inner(*xs):
        saved = layer.parameters()
        layer.update(_unflatten(struct, list(xs[:n])), strict=False)
        try:
            it = iter(xs[n:])
            call = [next(it) if isinstance(a, mx.array) else a for a in args]
            return layer(*call)
        finally:
            layer.update(saved, strict=False)

    return mx.checkpoint(inner)(*leaves, *arrays)
