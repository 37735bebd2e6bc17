"""Upsample: nearest, (bi/tri)linear and (bi)cubic interpolation of the spatial axes of
channels-last inputs (N, *spatial, C), one axis at a time. An axis of size N becomes
M = floor(N * scale); output i samples the input at

    src = i / scale - ((M - 1) / scale - (N - 1)) / 2     (the M points centred on the input)
    src = i * (N - 1) / (M - 1)                           (align_corners)

as MLX places them; for integer scales the first is PyTorch's (i + 0.5) / scale - 0.5.
nearest takes the input closest to the centred position for the realized scale M / N (ties
to the even index), linear clamps src to the input, cubic uses Keys' kernel (a = -0.75)
with edge-clamped taps."""
import math
from typing import Literal, Tuple, Union

import ember.core as mx
from ember.nn.module import Module


def _ctype(x):
    return mx.float64 if x.dtype == mx.float64 else mx.float32


def _positions(n, m, scale, align_corners, dtype):
    dst = mx.arange(m).astype(dtype)
    if align_corners:
        return dst * ((n - 1) / (m - 1)) if m > 1 else mx.zeros((m,), dtype=dtype)
    return dst / scale - ((m - 1) / scale - (n - 1)) / 2


def _along(x, axis, idx, w):
    """sum_k x[..., idx[k], ...] * w[k] along axis, idx / w of shape (taps, m)."""
    shape = [1] * x.ndim
    shape[axis] = w.shape[1]
    out = None
    for k in range(idx.shape[0]):
        term = mx.take(x, idx[k], axis=axis) * mx.reshape(w[k], shape).astype(x.dtype)
        out = term if out is None else out + term
    return out


def _nearest(x, axis, scale):
    """Output i takes the input nearest to (i + 0.5) n / m - 0.5 (the centred position for
    the realized scale m / n), ties to the even index; in integers, so ties are exact."""
    n = x.shape[axis]
    m = int(math.floor(n * scale))
    num = (2 * mx.arange(m) + 1) * n - m  # position = num / den
    den = 2 * m
    q = mx.floor_divide(num, den)
    twice_r = 2 * (num - q * den)
    up = (twice_r > den) | ((twice_r == den) & (mx.remainder(q, 2) == 1))
    idx = mx.clip(q + up.astype(q.dtype), 0, n - 1)
    return mx.take(x, idx, axis=axis)


def _linear(x, axis, scale, align_corners):
    n = x.shape[axis]
    m = int(math.floor(n * scale))
    src = mx.maximum(_positions(n, m, scale, align_corners, _ctype(x)), 0.0)
    i0 = mx.minimum(mx.floor(src).astype(mx.int32), n - 1)
    i1 = mx.minimum(i0 + 1, n - 1)
    t = src - i0.astype(src.dtype)
    return _along(x, axis, mx.stack([i0, i1]), mx.stack([1 - t, t]))


def _cubic_weights(t, a=-0.75):
    """Keys' cubic convolution weights for the taps at -1, 0, 1, 2 around the sample."""
    def near(d):  # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    return mx.stack([far(t + 1), near(t), near(1 - t), far(2 - t)])


def _cubic(x, axis, scale, align_corners):
    n = x.shape[axis]
    m = int(math.floor(n * scale))
    src = _positions(n, m, scale, align_corners, _ctype(x))
    base = mx.floor(src)
    t = src - base
    base = base.astype(mx.int32)
    idx = mx.stack([mx.clip(base + k, 0, n - 1) for k in (-1, 0, 1, 2)])
    return _along(x, axis, idx, _cubic_weights(t))


class Upsample(Module):
    """Upsamples the spatial axes of (N, *spatial, C) by ``scale_factor`` (one number, or
    one per spatial axis) with mode 'nearest', 'linear' or 'cubic'."""

    def __init__(self, scale_factor: Union[float, Tuple], mode: Literal["nearest", "linear", "cubic"] = "nearest",
                 align_corners: bool = False, antialias: bool = False):
        super().__init__()
        if mode not in ("nearest", "linear", "cubic"):
            raise ValueError(f"[Upsample] mode must be 'nearest', 'linear' or 'cubic', got {mode!r}.")
        if antialias:
            raise ValueError("[Upsample] antialias=True (for downsampling) is not supported.")
        self.scale_factor = scale_factor
        self.mode, self.align_corners = mode, align_corners

    def _extra_repr(self):
        return f"scale_factor={self.scale_factor}, mode={self.mode!r}, align_corners={self.align_corners}"

    def __call__(self, x):
        nd = x.ndim - 2
        if nd < 1:
            raise ValueError(f"[Upsample] Expects (N, *spatial, C) input, got shape {tuple(x.shape)}.")
        scales = self.scale_factor
        if isinstance(scales, (int, float)):
            scales = (scales,) * nd
        scales = tuple(scales)
        if len(scales) != nd:
            raise ValueError(f"[Upsample] scale_factor {scales} must have one entry per spatial axis of "
                             f"input {tuple(x.shape)} ({nd}).")
        for axis, s in enumerate(scales, start=1):
            if s == 1:
                continue
            if self.mode == "nearest":
                x = _nearest(x, axis, s)
            elif self.mode == "linear":
                x = _linear(x, axis, s, self.align_corners)
            else:
                x = _cubic(x, axis, s, self.align_corners)
        return x
