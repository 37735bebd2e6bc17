"""Normalization layers (channels last): LayerNorm, RMSNorm, GroupNorm, InstanceNorm,
BatchNorm."""
import ember.core as mx
from ember.nn.module import Module


class LayerNorm(Module):
    """Normalizes the last axis to zero mean and unit variance, then scales by ``weight``
    and shifts by ``bias`` (with affine)."""

    def __init__(self, dims: int, eps: float = 1e-5, affine: bool = True, bias: bool = True):
        super().__init__()
        self.dims, self.eps = dims, eps
        if affine:
            self.weight = mx.ones((dims,))
            if bias:
                self.bias = mx.zeros((dims,))

    def _extra_repr(self):
        return f"{self.dims}, eps={self.eps}, affine={'weight' in self}"

    def __call__(self, x):
        weight = self.weight if "weight" in self else None
        bias = self.bias if "bias" in self else None
        return mx.fast.layer_norm(x, weight, bias, self.eps)


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) * weight over the last axis (Zhang & Sennrich 2019)."""

    def __init__(self, dims: int, eps: float = 1e-5):
        super().__init__()
        self.weight = mx.ones((dims,))
        self.eps = eps

    def _extra_repr(self):
        return f"{self.weight.shape[0]}, eps={self.eps}"

    def __call__(self, x):
        return mx.fast.rms_norm(x, self["weight"], self.eps)


class GroupNorm(Module):
    """Normalizes (N, ..., C) inputs over the spatial axes and the channels of each of
    ``num_groups`` groups (Wu & He 2018). Channel c is in group c % num_groups, as in
    MLX; with ``pytorch_compatible`` groups are contiguous channel blocks, as in PyTorch."""

    def __init__(self, num_groups: int, dims: int, eps: float = 1e-5, affine: bool = True,
                 pytorch_compatible: bool = False):
        super().__init__()
        if dims % num_groups:
            raise ValueError(f"[GroupNorm] dims {dims} must be divisible by num_groups {num_groups}.")
        if affine:
            self.weight = mx.ones((dims,))
            self.bias = mx.zeros((dims,))
        self.num_groups, self.dims, self.eps = num_groups, dims, eps
        self.pytorch_compatible = pytorch_compatible

    def _extra_repr(self):
        return (f"{self.num_groups}, {self.dims}, eps={self.eps}, affine={'weight' in self}, "
                f"pytorch_compatible={self.pytorch_compatible}")

    def __call__(self, x):
        if x.shape[-1] != self.dims:
            raise ValueError(f"[GroupNorm] Expected {self.dims} channels (last axis), got input "
                             f"shape {tuple(x.shape)}.")
        g, c = self.num_groups, self.dims
        batch = x.shape[0]
        if self.pytorch_compatible:
            grouped = mx.reshape(x, (batch, -1, g, c // g))
            axes = (1, 3)
        else:
            grouped = mx.reshape(x, (batch, -1, c // g, g))
            axes = (1, 2)
        mean = mx.mean(grouped, axis=axes, keepdims=True)
        var = mx.var(grouped, axis=axes, keepdims=True)
        y = mx.reshape((grouped - mean) * mx.rsqrt(var + self.eps), x.shape)
        if "weight" in self:
            y = y * self.weight + self.bias
        return y


class InstanceNorm(Module):
    """Normalizes each channel of each sample over the spatial axes of (N, ..., C)
    (Ulyanov et al. 2016), then scales and shifts with affine."""

    def __init__(self, dims: int, eps: float = 1e-5, affine: bool = False):
        super().__init__()
        if affine:
            self.weight = mx.ones((dims,))
            self.bias = mx.zeros((dims,))
        self.dims, self.eps = dims, eps

    def _extra_repr(self):
        return f"{self.dims}, eps={self.eps}, affine={'weight' in self}"

    def __call__(self, x):
        if x.ndim < 3:
            raise ValueError(f"[InstanceNorm] Expects (N, ..., C) with at least one spatial axis, "
                             f"got shape {tuple(x.shape)}.")
        axes = tuple(range(1, x.ndim - 1))
        mean = mx.mean(x, axis=axes, keepdims=True)
        var = mx.var(x, axis=axes, keepdims=True)
        y = (x - mean) * mx.rsqrt(var + self.eps)
        if "weight" in self:
            y = y * self.weight + self.bias
        return y


class BatchNorm(Module):
    """Normalizes (N, C), (N, L, C) or (N, H, W, C) inputs per channel over every other
    axis (Ioffe & Szegedy 2015). In training the batch statistics are used and the running
    ones updated: running = (1 - momentum) running + momentum batch (for the variance, the
    unbiased batch variance, n / (n - 1) times the one normalized with); in eval the running
    statistics are used."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = mx.ones((num_features,))
            self.bias = mx.zeros((num_features,))
        if track_running_stats:
            self.running_mean = mx.zeros((num_features,))
            self.running_var = mx.ones((num_features,))
            self.freeze(keys=["running_mean", "running_var"], recurse=False)

    def unfreeze(self, *args, **kwargs):
        """As Module.unfreeze; the running statistics stay frozen."""
        super().unfreeze(*args, **kwargs)
        if self.track_running_stats:
            self.freeze(keys=["running_mean", "running_var"], recurse=False)
        return self

    def _extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={'weight' in self}, track_running_stats={self.track_running_stats}")

    def __call__(self, x):
        if x.ndim < 2 or x.ndim > 4:
            raise ValueError(f"[BatchNorm] Expects input of 2 to 4 dimensions (N, ..., C), got shape "
                             f"{tuple(x.shape)}.")
        if x.shape[-1] != self.num_features:
            raise ValueError(f"[BatchNorm] Expected {self.num_features} features (last axis), got "
                             f"input shape {tuple(x.shape)}.")
        axes = tuple(range(x.ndim - 1))
        if self.training or not self.track_running_stats:
            mean = mx.mean(x, axis=axes)
            var = mx.var(x, axis=axes)
            if self.training and self.track_running_stats:
                m = self.momentum
                self.running_mean = (1 - m) * self.running_mean + m * mx.stop_gradient(mean)
                n = x.size // x.shape[-1]
                unbiased = var * (n / max(n - 1, 1))
                self.running_var = (1 - m) * self.running_var + m * mx.stop_gradient(unbiased)
        else:
            mean, var = self.running_mean, self.running_var
        y = (x - mean) * mx.rsqrt(var + self.eps)
        if "weight" in self:
            y = y * self.weight + self.bias
        return y
