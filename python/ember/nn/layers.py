"""Layers: Linear, Sequential, Embedding, Dropout, LayerNorm, RMSNorm, BatchNorm,
Conv1d, Conv2d and MultiHeadAttention. Convolutions are compositions of ops (padding,
strided slices, one matmul: im2col), so every transform works through them."""
import math
from typing import Optional, Tuple, Union

import ember.core as mx
from ember.nn.module import Module


def _uniform(shape, scale):
    return mx.random.uniform(-scale, scale, shape)


class Linear(Module):
    """y = x @ W.T + b, with W of shape (output_dims, input_dims) initialized
    uniformly in +-1/sqrt(input_dims)."""

    def __init__(self, input_dims: int, output_dims: int, bias: bool = True):
        super().__init__()
        scale = math.sqrt(1.0 / input_dims)
        self.weight = _uniform((output_dims, input_dims), scale)
        if bias:
            self.bias = _uniform((output_dims,), scale)

    def _extra_repr(self):
        o, i = self.weight.shape
        return f"input_dims={i}, output_dims={o}, bias={'bias' in self}"

    def __call__(self, x):
        y = x @ self.weight.T
        return y + self.bias if "bias" in self else y


class Sequential(Module):
    """Calls its layers in order."""

    def __init__(self, *layers):
        super().__init__()
        self.layers = list(layers)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Embedding(Module):
    """A lookup table of num_embeddings vectors of size dims."""

    def __init__(self, num_embeddings: int, dims: int):
        super().__init__()
        self.weight = mx.random.normal((num_embeddings, dims)) * math.sqrt(1.0 / dims)

    def _extra_repr(self):
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}"

    def __call__(self, x):
        return mx.take(self.weight, x, axis=0)

    def as_linear(self, x):
        """Uses the table as an output projection (weight tying)."""
        return x @ self.weight.T


class Dropout(Module):
    """Zeros elements with probability p during training and scales the rest by 1/(1-p)."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"[Dropout] p must be in [0, 1), got {p}.")
        self._p = p

    def _extra_repr(self):
        return f"p={self._p}"

    def __call__(self, x):
        if not self.training or self._p == 0:
            return x
        keep = mx.random.bernoulli(1 - self._p, x.shape)
        return mx.where(keep, x * (1.0 / (1 - self._p)), mx.zeros_like(x))


class LayerNorm(Module):
    """Normalizes the last axis to zero mean and unit variance, then scales and shifts."""

    def __init__(self, dims: int, eps: float = 1e-5, affine: bool = True, bias: bool = True):
        super().__init__()
        self._eps = eps
        if affine:
            self.weight = mx.ones((dims,))
            if bias:
                self.bias = mx.zeros((dims,))

    def _extra_repr(self):
        return f"eps={self._eps}"

    def __call__(self, x):
        mean = mx.mean(x, axis=-1, keepdims=True)
        var = mx.var(x, axis=-1, keepdims=True)
        y = (x - mean) * mx.rsqrt(var + self._eps)
        if "weight" in self:
            y = y * self.weight
        if "bias" in self:
            y = y + self.bias
        return y


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) * weight over the last axis."""

    def __init__(self, dims: int, eps: float = 1e-5):
        super().__init__()
        self._eps = eps
        self.weight = mx.ones((dims,))

    def __call__(self, x):
        return x * mx.rsqrt(mx.mean(mx.square(x), axis=-1, keepdims=True) + self._eps) * self.weight


class BatchNorm(Module):
    """Normalizes over every axis but the last (features), with running statistics
    for eval mode."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        self._eps, self._momentum = eps, momentum
        if affine:
            self.weight = mx.ones((num_features,))
            self.bias = mx.zeros((num_features,))
        if track_running_stats:
            self.running_mean = mx.zeros((num_features,))
            self.running_var = mx.ones((num_features,))
            self.freeze(recurse=False, keys=["running_mean", "running_var"])

    def __call__(self, x):
        axes = tuple(range(x.ndim - 1))
        if self.training or "running_mean" not in self:
            mean = mx.mean(x, axis=axes)
            var = mx.var(x, axis=axes)
            if self.training and "running_mean" in self:
                m = self._momentum
                n = x.size // x.shape[-1]
                self.running_mean = (1 - m) * self.running_mean + m * mx.stop_gradient(mean)
                self.running_var = (1 - m) * self.running_var + m * mx.stop_gradient(var) * (n / max(n - 1, 1))
        else:
            mean, var = self.running_mean, self.running_var
        y = (x - mean) * mx.rsqrt(var + self._eps)
        if "weight" in self:
            y = y * self.weight + self.bias
        return y


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv_general(x, weight, stride, padding, dilation):
    """N-d convolution (channels last) by im2col: x (N, *spatial, C_in), weight
    (C_out, *kernel, C_in) -> (N, *out_spatial, C_out)."""
    nd = x.ndim - 2
    if weight.ndim != nd + 2:
        raise ValueError(f"[conv] weight has shape {weight.shape}; expected {nd + 2} dimensions for input {x.shape}.")
    if x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"[conv] Input channels {x.shape[-1]} (input shape {x.shape}) do not match weight "
                         f"channels {weight.shape[-1]} (weight shape {weight.shape}).")
    kernel = weight.shape[1:-1]
    if any(p > 0 for p in padding):
        x = mx.pad(x, [(0, 0)] + [(p, p) for p in padding] + [(0, 0)])
    spatial = x.shape[1:-1]
    out = [(spatial[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in range(nd)]
    if any(o <= 0 for o in out):
        raise ValueError(f"[conv] Kernel {tuple(kernel)} is larger than the (padded) input {tuple(spatial)}.")
    patches = []
    import itertools

    for offs in itertools.product(*[range(k) for k in kernel]):
        idx = (slice(None),) + tuple(
            slice(offs[i] * dilation[i], offs[i] * dilation[i] + (out[i] - 1) * stride[i] + 1, stride[i])
            for i in range(nd)) + (slice(None),)
        patches.append(x[idx])
    cols = mx.stack(patches, axis=-2)  # (N, *out, K, C_in)
    cols = mx.reshape(cols, cols.shape[:-2] + (-1,))
    w = mx.reshape(weight, (weight.shape[0], -1))
    return cols @ w.T


class Conv1d(Module):
    """1-d convolution over (N, L, C_in) inputs (channels last, as mlx)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, bias=True):
        super().__init__()
        scale = math.sqrt(1.0 / (in_channels * kernel_size))
        self.weight = _uniform((out_channels, kernel_size, in_channels), scale)
        if bias:
            self.bias = mx.zeros((out_channels,))
        self._args = ((stride,), (padding,), (dilation,))

    def __call__(self, x):
        y = conv_general(x, self.weight, *self._args)
        return y + self.bias if "bias" in self else y


class Conv2d(Module):
    """2-d convolution over (N, H, W, C_in) inputs (channels last, as mlx)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, bias=True):
        super().__init__()
        kh, kw = _pair(kernel_size)
        scale = math.sqrt(1.0 / (in_channels * kh * kw))
        self.weight = _uniform((out_channels, kh, kw, in_channels), scale)
        if bias:
            self.bias = mx.zeros((out_channels,))
        self._args = (_pair(stride), _pair(padding), _pair(dilation))

    def _extra_repr(self):
        o, kh, kw, i = self.weight.shape
        return f"{i}, {o}, kernel_size=({kh}, {kw}), stride={self._args[0]}, padding={self._args[1]}"

    def __call__(self, x):
        y = conv_general(x, self.weight, *self._args)
        return y + self.bias if "bias" in self else y


class MultiHeadAttention(Module):
    """Scaled dot-product attention with num_heads heads and input/output projections."""

    def __init__(self, dims: int, num_heads: int, bias: bool = False):
        super().__init__()
        if dims % num_heads:
            raise ValueError(f"[MultiHeadAttention] dims {dims} must be divisible by num_heads {num_heads}.")
        self._num_heads = num_heads
        self.query_proj = Linear(dims, dims, bias)
        self.key_proj = Linear(dims, dims, bias)
        self.value_proj = Linear(dims, dims, bias)
        self.out_proj = Linear(dims, dims, bias)

    @staticmethod
    def create_additive_causal_mask(n, dtype=mx.float32):
        idx = mx.arange(n)
        return mx.where(idx[:, None] < idx[None, :], -1e9, 0.0).astype(dtype)

    def __call__(self, queries, keys, values, mask=None):
        q, k, v = self.query_proj(queries), self.key_proj(keys), self.value_proj(values)
        h = self._num_heads
        B, L, D = q.shape
        S = k.shape[1]
        q = mx.transpose(mx.reshape(q, (B, L, h, D // h)), (0, 2, 1, 3))
        k = mx.transpose(mx.reshape(k, (B, S, h, D // h)), (0, 2, 3, 1))
        v = mx.transpose(mx.reshape(v, (B, S, h, D // h)), (0, 2, 1, 3))
        scores = (q * (1.0 / math.sqrt(D // h))) @ k
        if mask is not None:
            scores = scores + mask
        out = mx.softmax(scores, axis=-1) @ v
        out = mx.reshape(mx.transpose(out, (0, 2, 1, 3)), (B, L, D))
        return self.out_proj(out)
