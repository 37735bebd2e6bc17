"""Positional encodings: RoPE (Su et al. 2021), SinusoidalPositionalEncoding (Vaswani et
al. 2017) and ALiBi (Press et al. 2022)."""
import math
from typing import Optional

import ember.core as mx
from ember.nn.module import Module


class RoPE(Module):
    """Rotary positional encoding (mx.fast.rope) of the first ``dims`` features of
    (B, *, L, D) inputs: features turn by (offset + position) * scale * base^(-2i / dims),
    in pairs (x_2i, x_2i+1) with traditional, else (x_i, x_i+dims/2). ``rope(x, offset=k)``
    starts the positions at k (for a key-value cache)."""

    def __init__(self, dims: int, traditional: bool = False, base: float = 10000, scale: float = 1.0):
        super().__init__()
        self.dims, self.traditional, self.base, self.scale = dims, traditional, base, scale

    def _extra_repr(self):
        return f"{self.dims}, traditional={self.traditional}"

    def __call__(self, x, offset: int = 0):
        return mx.fast.rope(x, self.dims, traditional=self.traditional, base=self.base,
                            scale=self.scale, offset=offset)


class SinusoidalPositionalEncoding(Module):
    """Maps positions x (any shape) to (..., dims) features sin(x w_i), cos(x w_i) for
    dims / 2 frequencies w_i from max_freq down to min_freq (geometrically spaced), times
    ``scale`` (default sqrt(2 / dims)); cos_first swaps the halves and full_turns
    multiplies the frequencies by 2 pi."""

    def __init__(self, dims: int, min_freq: float = 0.0001, max_freq: float = 1,
                 scale: Optional[float] = None, cos_first: bool = False, full_turns: bool = False):
        super().__init__()
        half = dims // 2
        frac = 1 - mx.arange(0, half).astype(mx.float32) / max(half - 1, 1)
        lo, hi = math.log(min_freq), math.log(max_freq)
        self._sigmas = mx.exp(frac * (hi - lo) + lo)
        if full_turns:
            self._sigmas = self._sigmas * (2 * math.pi)
        self.scale = scale or (2 / dims) ** 0.5
        self.cos_first = cos_first

    def __call__(self, x):
        y = x[..., None] * self._sigmas
        c, s = mx.cos(y), mx.sin(y)
        y = mx.concatenate([c, s] if self.cos_first else [s, c], axis=-1)
        return y * self.scale if self.scale != 1 else y


class ALiBi(Module):
    """Attention with linear biases: adds -slope_h |i - j| to the (B, heads, L, S) attention
    scores, slopes 2^(-8 h / heads) for h = 1..heads."""

    @staticmethod
    def create_alibi_slope(num_heads):
        x = (2 ** 8) ** (1 / num_heads)
        return mx.expand_dims(mx.power(x, -mx.arange(1, num_heads + 1).astype(mx.float32)), (1, 2))

    @staticmethod
    def create_alibi_matrix(q_sequence_length: int, k_sequence_length: int, num_heads: int,
                            offset: int, dtype=mx.float32):
        qi = mx.arange(offset, q_sequence_length)
        kj = mx.arange(0, k_sequence_length)
        dist = -mx.abs(qi[:, None] - kj[None, :]).astype(mx.float32)
        return (mx.expand_dims(dist, (0, 1)) * ALiBi.create_alibi_slope(num_heads)).astype(dtype)

    def __call__(self, attention_scores, offset=0, mask=None):
        bias = self.create_alibi_matrix(attention_scores.shape[-2] + offset, attention_scores.shape[-1],
                                        attention_scores.shape[1], offset, attention_scores.dtype)
        if mask is not None:
            bias = bias + mask
        return attention_scores + bias
