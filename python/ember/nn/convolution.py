"""Convolutions (channels last, as in MLX): Conv1d/2d/3d and ConvTranspose1d/2d/3d.

ember.core has no convolution op yet, so ``conv_general`` (mlx.core.conv_general's
arguments) is written here with ops: zero insertion for input dilation, padding, strided
slices gathered into patches (im2col) and one matmul per group. Every transform works
through it. When the core op lands, conv_general becomes a call to it.
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


def _dilate(x, factors):
    """Inserts factor - 1 zeros between neighbours along each spatial axis."""
    for axis, f in enumerate(factors, start=1):
        if f == 1 or x.shape[axis] <= 1:
            continue
        n = x.shape[axis]
        moved = mx.moveaxis(x, axis, -1)
        zeros = mx.zeros(moved.shape + (f - 1,), dtype=x.dtype)
        spread = mx.concatenate([mx.expand_dims(moved, -1), zeros], axis=-1)
        spread = mx.reshape(spread, moved.shape[:-1] + (n * f,))[..., : (n - 1) * f + 1]
        x = mx.moveaxis(spread, -1, axis)
    return x


def conv_general(input, weight, stride: IntOrSeq = 1, padding=0, kernel_dilation: IntOrSeq = 1,
                 input_dilation: IntOrSeq = 1, groups: int = 1, flip: bool = False):
    """N-d convolution (cross-correlation unless ``flip``) of ``input`` (N, *spatial, C_in)
    with ``weight`` (C_out, *kernel, C_in / groups) -> (N, *out_spatial, C_out).

    ``padding`` is an int, one int per spatial axis, or a pair (low, high) of such
    sequences; ``input_dilation`` spreads the input (as a transposed convolution does).
    """
    nd = input.ndim - 2
    if nd < 1 or weight.ndim != input.ndim:
        raise ValueError(f"[conv] input shape {tuple(input.shape)} and weight shape "
                         f"{tuple(weight.shape)} must both have 2 + (number of spatial axes) dimensions.")
    c_in, c_out = input.shape[-1], weight.shape[0]
    if groups < 1 or c_in % groups or c_out % groups:
        raise ValueError(f"[conv] groups {groups} must divide the input channels {c_in} and the "
                         f"output channels {c_out}.")
    if weight.shape[-1] * groups != c_in:
        raise ValueError(f"[conv] Input channels {c_in} (input shape {tuple(input.shape)}) do not match "
                         f"weight channels {weight.shape[-1]} x groups {groups} (weight shape "
                         f"{tuple(weight.shape)}).")
    stride = _tuple(stride, nd, "stride")
    kdil = _tuple(kernel_dilation, nd, "kernel_dilation")
    idil = _tuple(input_dilation, nd, "input_dilation")
    if (isinstance(padding, (tuple, list)) and len(padding) == 2
            and all(isinstance(p, (tuple, list)) for p in padding)):
        lo, hi = _tuple(padding[0], nd, "padding"), _tuple(padding[1], nd, "padding")
    else:
        lo = hi = _tuple(padding, nd, "padding")
    if any(s < 1 for s in stride + kdil + idil):
        raise ValueError(f"[conv] stride {stride} and dilations {kdil}, {idil} must be >= 1.")
    if flip:
        weight = weight[(slice(None),) + (slice(None, None, -1),) * nd]
    x = _dilate(input, idil)
    if any(p != 0 for p in lo + hi):
        # negative padding crops
        crop = tuple(slice(-l if l < 0 else 0, x.shape[i + 1] + h if h < 0 else None)
                     for i, (l, h) in enumerate(zip(lo, hi)))
        x = x[(slice(None),) + crop]
        x = mx.pad(x, [(0, 0)] + [(max(l, 0), max(h, 0)) for l, h in zip(lo, hi)] + [(0, 0)])
    kernel = weight.shape[1:-1]
    spatial = x.shape[1:-1]
    out = [(spatial[i] - kdil[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in range(nd)]
    if any(o <= 0 for o in out):
        raise ValueError(f"[conv] The (dilated) kernel {tuple(kernel)} with dilation {kdil} is larger "
                         f"than the padded input {tuple(spatial)} (input shape {tuple(input.shape)}).")
    patches = []
    for offs in itertools.product(*[range(k) for k in kernel]):
        idx = (slice(None),) + tuple(
            slice(offs[i] * kdil[i], offs[i] * kdil[i] + (out[i] - 1) * stride[i] + 1, stride[i])
            for i in range(nd)) + (slice(None),)
        patches.append(x[idx])
    cols = mx.stack(patches, axis=-2)  # (N, *out, K, C_in)
    if groups == 1:
        return mx.reshape(cols, cols.shape[:-2] + (-1,)) @ mx.reshape(weight, (c_out, -1)).T
    gi, go = c_in // groups, c_out // groups
    parts = []
    for g in range(groups):
        cg = mx.reshape(cols[..., g * gi:(g + 1) * gi], cols.shape[:-2] + (-1,))
        wg = mx.reshape(weight[g * go:(g + 1) * go], (go, -1))
        parts.append(cg @ wg.T)
    return mx.concatenate(parts, axis=-1)


def conv_transpose_general(input, weight, stride, padding, dilation, output_padding, groups=1):
    """Transposed convolution with weight (C_out, *kernel, C_in / groups): the gradient of a
    convolution with respect to its input, written as a convolution of the stride-dilated
    input with the flipped kernel."""
    nd = input.ndim - 2
    kernel = weight.shape[1:-1]
    lo = tuple(dilation[i] * (kernel[i] - 1) - padding[i] for i in range(nd))
    hi = tuple(lo[i] + output_padding[i] for i in range(nd))
    return conv_general(input, weight, 1, (lo, hi), dilation, stride, groups, flip=True)


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
            y = conv_general(x, self.weight, self._stride, self._padding, self._dilation,
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
