"""Max and average pooling over 1, 2 or 3 spatial axes of channels-last inputs
(N, *spatial, C). Windows that tile the input (stride = kernel) are a reshape and one
reduction; other windows are gathered with strided slices, then reduced."""
import itertools

import ember.core as mx
from ember.nn.convolution import _tuple
from ember.nn.module import Module


class _Pool(Module):
    _nd = 0
    _kind = ""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        self._kernel = _tuple(kernel_size, self._nd, "kernel_size", name)
        self._stride = self._kernel if stride is None else _tuple(stride, self._nd, "stride", name)
        self._padding = _tuple(padding, self._nd, "padding", name)
        if any(k < 1 for k in self._kernel) or any(s < 1 for s in self._stride):
            raise ValueError(f"[{name}] kernel_size {self._kernel} and stride {self._stride} must be >= 1.")
        if any(p < 0 or 2 * p > k for p, k in zip(self._padding, self._kernel)):
            raise ValueError(f"[{name}] padding {self._padding} must be at most half the kernel "
                             f"{self._kernel}.")

    def _extra_repr(self):
        return f"kernel_size={self._kernel}, stride={self._stride}, padding={self._padding}"

    def _fill(self, dtype):
        """The padding value: 0 for average pooling; for max pooling one no element beats
        (-inf, or the integer type's minimum)."""
        if self._kind != "max":
            return 0
        if mx.issubdtype(dtype, mx.floating):
            return float("-inf")
        if mx.issubdtype(dtype, mx.signedinteger):
            return -(2 ** (8 * dtype.size - 1))
        return 0  # unsigned integers and bool

    def __call__(self, x):
        nd, name = self._nd, type(self).__name__
        if x.ndim != nd + 2:
            raise ValueError(f"[{name}] Expects input of shape (N, {', '.join('*' * nd)}, C) "
                             f"({nd + 2} dimensions), got {tuple(x.shape)}.")
        if any(self._padding):
            x = mx.pad(x, [(0, 0)] + [(p, p) for p in self._padding] + [(0, 0)],
                       constant_values=self._fill(x.dtype))
        spatial = x.shape[1:-1]
        out = [(spatial[i] - self._kernel[i]) // self._stride[i] + 1 for i in range(nd)]
        if any(o <= 0 for o in out):
            raise ValueError(f"[{name}] kernel_size {self._kernel} is larger than the padded input "
                             f"{tuple(spatial)} (input shape {tuple(x.shape)}).")
        reduce = mx.max if self._kind == "max" else mx.mean
        if self._stride == self._kernel:
            # windows tile the input: crop to whole windows, give each window its own axes
            crop = (slice(None),) + tuple(slice(0, o * k) for o, k in zip(out, self._kernel)) + (slice(None),)
            tiled = mx.reshape(x[crop], (x.shape[0],) + tuple(v for o, k in zip(out, self._kernel)
                                                                for v in (o, k)) + (x.shape[-1],))
            return reduce(tiled, axis=tuple(2 + 2 * i for i in range(nd)))
        windows = []
        for offs in itertools.product(*[range(k) for k in self._kernel]):
            idx = (slice(None),) + tuple(
                slice(offs[i], offs[i] + (out[i] - 1) * self._stride[i] + 1, self._stride[i])
                for i in range(nd)) + (slice(None),)
            windows.append(x[idx])
        return reduce(mx.stack(windows, axis=-2), axis=-2)


def _pool(name, nd, kind, doc):
    def __init__(self, kernel_size, stride=None, padding=0):
        _Pool.__init__(self, kernel_size, stride, padding)

    return type(name, (_Pool,), {"_nd": nd, "_kind": kind, "__init__": __init__, "__doc__": doc})


MaxPool1d = _pool("MaxPool1d", 1, "max", "Max over windows of (N, L, C); stride defaults to kernel_size, padding with -inf.")
MaxPool2d = _pool("MaxPool2d", 2, "max", "Max over windows of (N, H, W, C); stride defaults to kernel_size, padding with -inf.")
MaxPool3d = _pool("MaxPool3d", 3, "max", "Max over windows of (N, D, H, W, C); stride defaults to kernel_size, padding with -inf.")
AvgPool1d = _pool("AvgPool1d", 1, "avg", "Mean over windows of (N, L, C); stride defaults to kernel_size, zero padding counted.")
AvgPool2d = _pool("AvgPool2d", 2, "avg", "Mean over windows of (N, H, W, C); stride defaults to kernel_size, zero padding counted.")
AvgPool3d = _pool("AvgPool3d", 3, "avg", "Mean over windows of (N, D, H, W, C); stride defaults to kernel_size, zero padding counted.")
