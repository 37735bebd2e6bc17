"""Quantized layers: QuantizedLinear, QuantizedEmbedding and ``quantize(model)``.

Weights are stored as MLX stores them in 'affine' mode: per group of ``group_size``
consecutive input features a scale and a bias (w ~ scale * q + bias), and the integers q
of ``bits`` bits packed into uint32 words, element j of a word in bits
[bits * j, bits * (j + 1)). ember.core has no quantize / quantized_matmul op yet, so the
packing and the dequantization are written here with ops; the layers then use an ordinary
matmul. Checkpoints quantized by MLX load and give the same dequantized weights.
"""
from typing import Callable, Optional, Union

import ember.core as mx
from ember.nn.module import Module
from ember.utils import tree_map_with_path

_DEFAULT_GROUP, _DEFAULT_BITS = 64, 4


def _check(op, group_size, bits, mode):
    if mode != "affine":
        raise ValueError(f"[{op}] Only mode='affine' is supported, got {mode!r}.")
    if bits not in (2, 4, 8):
        raise ValueError(f"[{op}] bits must be 2, 4 or 8, got {bits}.")
    if group_size not in (32, 64, 128):
        raise ValueError(f"[{op}] group_size must be 32, 64 or 128, got {group_size}.")


def quantize_weights(w, group_size: int = _DEFAULT_GROUP, bits: int = _DEFAULT_BITS, mode: str = "affine"):
    """(packed uint32 weights, scales, biases) of the matrix w (..., D), D a multiple of
    group_size: per group, bias = min and scale = (max - min) / (2^bits - 1)."""
    _check("quantize", group_size, bits, mode)
    if w.ndim < 2 or w.shape[-1] % group_size:
        raise ValueError(f"[quantize] The last axis of weight {tuple(w.shape)} must be a multiple of "
                         f"group_size {group_size} (and the weight at least 2-d).")
    lead, d = w.shape[:-1], w.shape[-1]
    groups = mx.reshape(w.astype(mx.float32), lead + (d // group_size, group_size))
    lo = mx.min(groups, axis=-1, keepdims=True)
    hi = mx.max(groups, axis=-1, keepdims=True)
    levels = 2 ** bits - 1
    scale = mx.maximum((hi - lo) / levels, 1e-7)
    q = mx.clip(mx.round((groups - lo) / scale), 0, levels).astype(mx.uint32)
    per_word = 32 // bits
    q = mx.reshape(q, lead + (d // per_word, per_word))
    shifts = (mx.arange(per_word) * bits).astype(mx.uint32)
    packed = mx.sum(mx.left_shift(q, shifts), axis=-1).astype(mx.uint32)
    return packed, mx.squeeze(scale, -1).astype(w.dtype), mx.squeeze(lo, -1).astype(w.dtype)


def dequantize_weights(w, scales, biases, group_size: int = _DEFAULT_GROUP, bits: int = _DEFAULT_BITS,
                       mode: str = "affine"):
    """The matrix scale * q + bias from packed uint32 weights (the inverse of
    quantize_weights up to rounding)."""
    _check("dequantize", group_size, bits, mode)
    per_word = 32 // bits
    shifts = (mx.arange(per_word) * bits).astype(mx.uint32)
    q = mx.bitwise_and(mx.right_shift(mx.expand_dims(w, -1), shifts), mx.array(2 ** bits - 1, mx.uint32))
    lead = w.shape[:-1]
    d = w.shape[-1] * per_word
    q = mx.reshape(q, lead + (d // group_size, group_size)).astype(scales.dtype)
    out = q * mx.expand_dims(scales, -1) + mx.expand_dims(biases, -1)
    return mx.reshape(out, lead + (d,))


class QuantizedLinear(Module):
    """Linear with a quantized weight: ``weight`` (packed uint32, output_dims x
    input_dims * bits / 32), ``scales`` and ``biases`` (output_dims x input_dims /
    group_size) and ``bias``. Its parameters are frozen (they are not trained)."""

    def __init__(self, input_dims: int, output_dims: int, bias: bool = True, group_size: int = None,
                 bits: int = None, mode: str = "affine"):
        super().__init__()
        self.group_size = group_size or _DEFAULT_GROUP
        self.bits = bits or _DEFAULT_BITS
        self.mode = mode
        scale = (1.0 / input_dims) ** 0.5
        w = mx.random.uniform(-scale, scale, (output_dims, input_dims))
        self.weight, self.scales, self.biases = quantize_weights(w, self.group_size, self.bits, mode)
        if bias:
            self.bias = mx.zeros((output_dims,))
        self.freeze()

    def unfreeze(self, *args, **kwargs):
        """As Module.unfreeze; this layer's own parameters stay frozen."""
        super().unfreeze(*args, **kwargs)
        self.freeze(recurse=False)
        return self

    def _extra_repr(self):
        o, i = self.weight.shape[0], self.weight.shape[1] * 32 // self.bits
        return f"input_dims={i}, output_dims={o}, bias={'bias' in self}, group_size={self.group_size}, bits={self.bits}"

    def __call__(self, x):
        w = dequantize_weights(self.weight, self.scales, self.biases, self.group_size, self.bits, self.mode)
        y = x @ w.T.astype(x.dtype)
        return y + self.bias if "bias" in self else y

    @classmethod
    def from_linear(cls, linear_layer: Module, group_size: int = None, bits: int = None,
                    mode: str = "affine"):
        """A QuantizedLinear holding the quantized weights of an nn.Linear."""
        out_dims, in_dims = linear_layer.weight.shape
        q = cls(in_dims, out_dims, False, group_size, bits, mode)
        q.weight, q.scales, q.biases = quantize_weights(linear_layer.weight, q.group_size, q.bits, mode)
        if "bias" in linear_layer:
            q.bias = linear_layer.bias
        q.freeze()
        return q


class QuantizedEmbedding(Module):
    """Embedding with a quantized table (``weight``, ``scales``, ``biases`` as
    QuantizedLinear's). Its parameters are frozen."""

    def __init__(self, num_embeddings: int, dims: int, group_size: int = None, bits: int = None,
                 mode: str = "affine"):
        super().__init__()
        self.group_size = group_size or _DEFAULT_GROUP
        self.bits = bits or _DEFAULT_BITS
        self.mode = mode
        table = mx.random.normal((num_embeddings, dims), scale=(1.0 / dims) ** 0.5)
        self.weight, self.scales, self.biases = quantize_weights(table, self.group_size, self.bits, mode)
        self.num_embeddings, self.dims = num_embeddings, dims
        self.freeze()

    def unfreeze(self, *args, **kwargs):
        """As Module.unfreeze; this layer's own parameters stay frozen."""
        super().unfreeze(*args, **kwargs)
        self.freeze(recurse=False)
        return self

    def _extra_repr(self):
        return f"{self.num_embeddings}, {self.dims}, group_size={self.group_size}, bits={self.bits}"

    def __call__(self, x):
        return dequantize_weights(self.weight[x], self.scales[x], self.biases[x], self.group_size,
                                  self.bits, self.mode)

    def as_linear(self, x):
        """x @ table.T with the dequantized table (weight tying)."""
        w = dequantize_weights(self.weight, self.scales, self.biases, self.group_size, self.bits, self.mode)
        return x @ w.T.astype(x.dtype)

    @classmethod
    def from_embedding(cls, embedding_layer: Module, group_size: int = None, bits: int = None,
                       mode: str = "affine"):
        """A QuantizedEmbedding holding the quantized table of an nn.Embedding."""
        n, d = embedding_layer.weight.shape
        q = cls(n, d, group_size, bits, mode)
        q.weight, q.scales, q.biases = quantize_weights(embedding_layer.weight, q.group_size, q.bits, mode)
        q.freeze()
        return q


def quantize(model: Module, group_size: int = None, bits: int = None, *, mode: str = "affine",
             quantize_input: bool = False,
             class_predicate: Optional[Callable[[str, Module], Union[bool, dict]]] = None) -> Module:
    """Replaces, in place, every leaf module that has ``to_quantized`` (Linear, Embedding)
    and that ``class_predicate(path, module)`` accepts with its quantized form.
    class_predicate may return a dict of to_quantized arguments for that module."""
    if quantize_input:
        raise ValueError("[quantize] quantize_input=True is not supported.")
    pred = class_predicate or (lambda _, m: hasattr(m, "to_quantized"))

    def maybe(path, m):
        choice = pred(path, m)
        if not choice:
            return m
        if not hasattr(m, "to_quantized"):
            raise ValueError(f"[quantize] Cannot quantize the module at {path!r} of type {type(m).__name__}.")
        kwargs = choice if isinstance(choice, dict) else {"group_size": group_size, "bits": bits, "mode": mode}
        return m.to_quantized(**kwargs)

    leaves = tree_map_with_path(maybe, model.leaf_modules(), is_leaf=Module.is_module)
    model.update_modules(leaves)
    return model
