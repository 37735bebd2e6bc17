"""Basic layers: Identity, Linear, Bilinear, Sequential, Embedding, Dropout, Dropout2d,
Dropout3d. The other families live in their own files (convolution, pooling,
normalization, recurrent, transformer, positional_encoding, upsample, quantized)."""
import math
from typing import Any

import ember.core as mx
from ember.nn.module import Module


class Identity(Module):
    """Returns its input; accepts and ignores any constructor arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def __call__(self, x):
        return x


class Linear(Module):
    """y = x @ weight.T + bias, weight (output_dims, input_dims) and bias uniform in
    +-1/sqrt(input_dims)."""

    def __init__(self, input_dims: int, output_dims: int, bias: bool = True) -> None:
        super().__init__()
        scale = math.sqrt(1.0 / input_dims)
        self.weight = mx.random.uniform(-scale, scale, (output_dims, input_dims))
        if bias:
            self.bias = mx.random.uniform(-scale, scale, (output_dims,))

    def _extra_repr(self):
        o, i = self.weight.shape
        return f"input_dims={i}, output_dims={o}, bias={'bias' in self}"

    def __call__(self, x):
        y = x @ self.weight.T
        return y + self.bias if "bias" in self else y

    def to_quantized(self, group_size: int = None, bits: int = None, mode: str = "affine",
                     quantize_input: bool = False):
        """A QuantizedLinear (weights quantized) or, with quantize_input, a QQLinear (weights
        and inputs; "nvfp4" and "mxfp8" modes)."""
        from ember.nn.quantized import QQLinear, QuantizedLinear

        if quantize_input:
            if mode not in ("nvfp4", "mxfp8"):
                raise ValueError("Quantized activations are only supported for 'nvfp4' and "
                                 f"'mxfp8' modes, got {mode}.")
            return QQLinear.from_linear(self, group_size, bits, mode)
        return QuantizedLinear.from_linear(self, group_size, bits, mode)


class Bilinear(Module):
    """y_o = x1 . (weight[o] @ x2) + bias_o, weight (output_dims, input2_dims, input1_dims)
    uniform in +-1/sqrt(input1_dims)."""

    def __init__(self, input1_dims: int, input2_dims: int, output_dims: int, bias: bool = True) -> None:
        super().__init__()
        scale = math.sqrt(1.0 / input1_dims)
        self.weight = mx.random.uniform(-scale, scale, (output_dims, input2_dims, input1_dims))
        if bias:
            self.bias = mx.random.uniform(-scale, scale, (output_dims,))

    def _extra_repr(self):
        o, i2, i1 = self.weight.shape
        return f"input1_dims={i1}, input2_dims={i2}, output_dims={o}, bias={'bias' in self}"

    def __call__(self, x1, x2):
        o, i2, i1 = self.weight.shape
        if x1.shape[-1] != i1 or x2.shape[-1] != i2:
            raise ValueError(f"[Bilinear] Inputs of shapes {tuple(x1.shape)} and {tuple(x2.shape)} must "
                             f"have {i1} and {i2} features on their last axes.")
        lead = x1.shape[:-1]
        a = mx.reshape(x1, (-1, i1))
        b = mx.reshape(x2, (-1, i2))
        # (B, i1) @ (i1, o * i2) -> (B, o, i2), then contract with x2
        w = mx.reshape(mx.transpose(self.weight, (2, 0, 1)), (i1, o * i2))
        y = mx.sum(mx.reshape(a @ w, (-1, o, i2)) * mx.expand_dims(b, 1), axis=-1)
        if "bias" in self:
            y = y + self.bias
        return mx.reshape(y, lead + (o,))


class Sequential(Module):
    """Calls its layers (modules or callables) in order."""

    def __init__(self, *modules):
        super().__init__()
        self.layers = list(modules)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Embedding(Module):
    """A table ``weight`` of num_embeddings vectors of size dims, drawn from
    N(0, 1/dims)."""

    def __init__(self, num_embeddings: int, dims: int):
        super().__init__()
        self.weight = mx.random.normal((num_embeddings, dims), scale=math.sqrt(1.0 / dims))

    def _extra_repr(self):
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}"

    def __call__(self, x):
        return self.weight[x]

    def as_linear(self, x):
        """Uses the table as an output projection (weight tying): x @ weight.T."""
        return x @ self.weight.T

    def to_quantized(self, group_size: int = None, bits: int = None, mode: str = "affine",
                     quantize_input: bool = False):
        """A QuantizedEmbedding with this table quantized."""
        from ember.nn.quantized import QuantizedEmbedding

        if quantize_input:
            raise ValueError("Quantized input is not supported.")
        return QuantizedEmbedding.from_embedding(self, group_size, bits, mode)


class _DropoutBase(Module):
    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"[{type(self).__name__}] p must be in [0, 1), got {p}.")
        self._p_1 = 1 - p

    def _extra_repr(self):
        return f"p={1 - self._p_1:g}"

    def _mask_shape(self, x):
        return x.shape

    def __call__(self, x):
        if not self.training or self._p_1 == 1:
            return x
        keep = mx.random.bernoulli(self._p_1, self._mask_shape(x))
        return (1 / self._p_1) * keep.astype(x.dtype) * x


class Dropout(_DropoutBase):
    """Zeros elements with probability p in training and scales the rest by 1/(1 - p)."""


class Dropout2d(_DropoutBase):
    """Zeros whole channels of (N, H, W, C) or (H, W, C) inputs with probability p in
    training, scaling the rest by 1/(1 - p)."""

    def _mask_shape(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"[Dropout2d] Expects (N, H, W, C) or (H, W, C) input, got shape {tuple(x.shape)}.")
        return x.shape[:-3] + (1, 1, x.shape[-1])


class Dropout3d(_DropoutBase):
    """Zeros whole channels of (N, D, H, W, C) or (D, H, W, C) inputs with probability p in
    training, scaling the rest by 1/(1 - p)."""

    def _mask_shape(self, x):
        if x.ndim not in (4, 5):
            raise ValueError(f"[Dropout3d] Expects (N, D, H, W, C) or (D, H, W, C) input, got shape "
                             f"{tuple(x.shape)}.")
        return x.shape[:-4] + (1, 1, 1, x.shape[-1])
