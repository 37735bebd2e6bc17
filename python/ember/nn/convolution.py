"""Convolutions (channels last, as in MLX): Conv1d/2d/3d and ConvTranspose1d/2d/3d.

The layers call ``mx.conv_general`` (ember.core's convolution, with mlx.core's arguments);
a transposed convolution is a convolution of the stride-dilated input with the flipped
kernel.
"""
import itertools
import math
from typing import Sequence, Union

import ember.core as mx
from ember.nn.module import Module

IntOrSeq = Union[int, Sequence[int]]


def _tuple(v, n, what, op="conv"):
    if isinstance(v, int):
        return (v,) * n
    v = tuple(v)
    if len(v) != n:
        raise ValueError(f"[{op}] {what} {v} must have {n} entries (one per spatial axis).")
    return v


def conv_transpose_general(input, weight, stride, padding, dilation, output_padding, groups=1):
    """Transposed convolution with weight (C_out, *kernel, C_in / groups): the gradient of a
    convolution with respect to its input, written as a convolution of the stride-dilated
    input with the flipped kernel."""
    nd = input.ndim - 2
    kernel = weight.shape[1:-1]
    lo = tuple(dilation[i] * (kernel[i] - 1) - padding[i] for i in range(nd))
    hi = tuple(lo[i] + output_padding[i] for i in range(nd))
    return mx.conv_general(input, weight, 1, (lo, hi), dilation, stride, groups, flip=True)


class _ConvNd(Module):
    _nd = 0
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, output_padding=0):
        super().__init__()
        nd, name = self._nd, type(self).__name__
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"[{name}] groups {groups} must divide in_channels {in_channels} and "
                             f"out_channels {out_channels}.")
        k = _tuple(kernel_size, nd, "kernel_size", name)
        self._stride = _tuple(stride, nd, "stride", name)
        self._padding = _tuple(padding, nd, "padding", name)
        self._dilation = _tuple(dilation, nd, "dilation", name)
        self._output_padding = _tuple(output_padding, nd, "output_padding", name)
        self._groups = groups
        scale = math.sqrt(1.0 / (in_channels * math.prod(k)))
        self.weight = mx.random.uniform(-scale, scale, (out_channels,) + k + (in_channels // groups,))
        if bias:
            self.bias = mx.zeros((out_channels,))

    def _extra_repr(self):
        o, *k, i = self.weight.shape
        return (f"{i * self._groups}, {o}, kernel_size={tuple(k)}, stride={self._stride}, "
                f"padding={self._padding}, dilation={self._dilation}, groups={self._groups}, "
                f"bias={'bias' in self}")

    def __call__(self, x):
        if self._transposed:
            y = conv_transpose_general(x, self.weight, self._stride, self._padding, self._dilation,
                                       self._output_padding, self._groups)
        else:
            y = mx.conv_general(x, self.weight, self._stride, self._padding, self._dilation,
                                groups=self._groups)
        return y + self.bias if "bias" in self else y


class Conv1d(_ConvNd):
    """1-d convolution over (N, L, C_in) inputs; weight (C_out, K, C_in / groups)."""
    _nd = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, dilation: int = 1, groups: int = 1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)


class Conv2d(_ConvNd):
    """2-d convolution over (N, H, W, C_in) inputs; weight (C_out, KH, KW, C_in / groups)."""
    _nd = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)


class Conv3d(_ConvNd):
    """3-d convolution over (N, D, H, W, C_in) inputs; weight (C_out, KD, KH, KW, C_in / groups).
    (MLX's Conv3d has no groups argument; here it follows bias.)"""
    _nd = 3

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, bias: bool = True, groups: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)


class ConvTranspose1d(_ConvNd):
    """1-d transposed convolution over (N, L, C_in); weight (C_out, K, C_in / groups).
    (groups, which MLX's transposed convolutions lack, comes after bias.)"""
    _nd, _transposed = 1, True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, dilation: int = 1, output_padding: int = 0, bias: bool = True,
                 groups: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, output_padding)


class ConvTranspose2d(_ConvNd):
    """2-d transposed convolution over (N, H, W, C_in); weight (C_out, KH, KW, C_in / groups)."""
    _nd, _transposed = 2, True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, output_padding=0, bias: bool = True, groups: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, output_padding)


class ConvTranspose3d(_ConvNd):
    """3-d transposed convolution over (N, D, H, W, C_in); weight (C_out, KD, KH, KW, C_in / groups)."""
    _nd, _transposed = 3, True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, output_padding=0, bias: bool = True, groups: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, output_padding)
