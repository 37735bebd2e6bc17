"""Quantized layers: QuantizedLinear, QuantizedEmbedding, QQLinear and ``quantize(model)``.

Weights are stored as ``mx.quantize`` packs them (MLX's layout: checkpoints quantized by
MLX load and give the same numbers), and the layers call the core ops ``quantized_matmul``,
``dequantize`` and ``qqmm``, whose kernels read the packed words directly. Every mode of
``mx.quantize`` works: "affine" (scales and biases), "mxfp4", "mxfp8" and "nvfp4" (scales
only; ``biases`` is then None).
"""
import math
from typing import Callable, Optional, Union

import ember.core as mx
from ember.nn.module import Module
from ember.utils import tree_map_with_path

_MODE_DEFAULTS = {"affine": (64, 4), "mxfp4": (32, 4), "nvfp4": (16, 4), "mxfp8": (32, 8)}


def _defaults_for_mode(mode, group_size, bits):
    if mode not in _MODE_DEFAULTS:
        raise ValueError(f"Invalid quantization mode {mode!r}. Valid modes are: "
                         f"{', '.join(_MODE_DEFAULTS)}.")
    default_group_size, default_bits = _MODE_DEFAULTS[mode]
    return group_size or default_group_size, bits or default_bits


def _quantize_into(layer, weight):
    """Sets layer.weight, layer.scales and layer.biases (None without biases) from weight."""
    layer.weight, layer.scales, *biases = mx.quantize(weight, layer.group_size, layer.bits,
                                                      mode=layer.mode)
    layer.biases = biases[0] if biases else None


class _Frozen(Module):
    """A layer whose own parameters stay frozen (they are packed integers and their
    scales): unfreeze() leaves them out, as ember always has."""

    def unfreeze(self, *args, **kwargs):
        """As Module.unfreeze; this layer's own parameters stay frozen."""
        super().unfreeze(*args, **kwargs)
        self.freeze(recurse=False)
        return self


class QuantizedLinear(_Frozen):
    """Linear with a quantized weight (``weight`` packed uint32, ``scales``, ``biases`` for
    "affine") and a float ``bias``: y = quantized_matmul(x, weight) + bias. Its parameters
    are frozen.

    Args:
        input_dims (int): input features.
        output_dims (int): output features.
        bias (bool): whether to add a bias. Default: True.
        group_size (int, optional): see ``mx.quantize``. Default: the mode's.
        bits (int, optional): see ``mx.quantize``. Default: the mode's.
        mode (str): "affine", "mxfp4", "mxfp8" or "nvfp4". Default: "affine".
    """

    def __init__(self, input_dims: int, output_dims: int, bias: bool = True, group_size: int = None,
                 bits: int = None, mode: str = "affine"):
        super().__init__()
        self.group_size, self.bits = _defaults_for_mode(mode, group_size, bits)
        self.mode = mode
        scale = math.sqrt(1 / input_dims)
        _quantize_into(self, mx.random.uniform(low=-scale, high=scale, shape=(output_dims, input_dims)))
        if bias:
            self.bias = mx.zeros((output_dims,))
        self.freeze()

    def _extra_repr(self):
        out_dims, in_dims = self.weight.shape
        in_dims = (in_dims * 32) // self.bits
        return (f"input_dims={in_dims}, output_dims={out_dims}, bias={'bias' in self}, "
                f"group_size={self.group_size}, bits={self.bits}, mode={self.mode}")

    def __call__(self, x):
        x = mx.quantized_matmul(x, self["weight"], scales=self["scales"], biases=self.get("biases"),
                                transpose=True, group_size=self.group_size, bits=self.bits,
                                mode=self.mode)
        if "bias" in self:
            x = x + self["bias"]
        return x

    @classmethod
    def from_linear(cls, linear_layer: Module, group_size: int = None, bits: int = None,
                    mode: str = "affine"):
        """A QuantizedLinear holding the quantized weight of an nn.Linear."""
        output_dims, input_dims = linear_layer.weight.shape
        ql = cls(input_dims, output_dims, False, group_size, bits, mode=mode)
        _quantize_into(ql, linear_layer.weight)
        if "bias" in linear_layer:
            ql.bias = linear_layer.bias
        ql.freeze()
        return ql


class QuantizedEmbedding(_Frozen):
    """Embedding with a quantized table (``weight``, ``scales``, ``biases`` as
    QuantizedLinear's). Its parameters are frozen.

    Args:
        num_embeddings (int): the vocabulary size.
        dims (int): the embedding size.
        group_size (int, optional), bits (int, optional), mode (str): see ``mx.quantize``.
    """

    def __init__(self, num_embeddings: int, dims: int, group_size: int = None, bits: int = None,
                 mode: str = "affine"):
        super().__init__()
        self.group_size, self.bits = _defaults_for_mode(mode, group_size, bits)
        self.mode = mode
        scale = math.sqrt(1 / dims)
        _quantize_into(self, mx.random.normal(shape=(num_embeddings, dims), scale=scale))
        self.num_embeddings = num_embeddings
        self.dims = dims
        self.freeze()

    def __call__(self, x):
        biases = self.get("biases")
        return mx.dequantize(self["weight"][x], scales=self["scales"][x],
                             biases=biases[x] if biases is not None else None,
                             group_size=self.group_size, bits=self.bits, mode=self.mode)

    def as_linear(self, x):
        """x @ table.T through quantized_matmul (weight tying)."""
        return mx.quantized_matmul(x, self["weight"], scales=self["scales"], biases=self.get("biases"),
                                   transpose=True, group_size=self.group_size, bits=self.bits,
                                   mode=self.mode)

    def _extra_repr(self):
        return (f"{self.num_embeddings}, {self.dims}, group_size={self.group_size}, "
                f"bits={self.bits}, mode={self.mode}")

    @classmethod
    def from_embedding(cls, embedding_layer: Module, group_size: int = None, bits: int = None,
                       mode: str = "affine"):
        """A QuantizedEmbedding holding the quantized table of an nn.Embedding."""
        num_embeddings, dims = embedding_layer.weight.shape
        ql = cls(num_embeddings, dims, group_size, bits, mode=mode)
        _quantize_into(ql, embedding_layer.weight)
        ql.freeze()
        return ql


class QQLinear(Module):
    """A linear layer (no bias) whose input and weight are both quantized: y = qqmm(x, W).

    In training mode the weight is kept in float and quantized on the fly, so it gets
    gradients (straight through the quantization); in eval mode it is stored packed with
    its ``scales``. ``layer.train()`` / ``layer.eval()`` switch between the two.

    Args:
        input_dims (int): input features.
        output_dims (int): output features.
        group_size (int, optional), bits (int, optional): see ``mx.quantize``.
        mode (str): "nvfp4" or "mxfp8" (as MLX; ember's qqmm also runs "mxfp4").
            Default: "nvfp4".
    """

    def __init__(self, input_dims: int, output_dims: int, group_size: int = None, bits: int = None,
                 mode: str = "nvfp4"):
        super().__init__()
        self.group_size, self.bits = _defaults_for_mode(mode, group_size, bits)
        self.mode = mode
        scale = math.sqrt(1 / input_dims)
        self.weight = mx.random.uniform(low=-scale, high=scale, shape=(output_dims, input_dims))
        self._quantized = False

    def _extra_repr(self):
        out_dims, in_dims = self.weight.shape
        if self.weight.dtype == mx.uint32:
            in_dims = (in_dims * 32) // self.bits
        return (f"input_dims={in_dims}, output_dims={out_dims}, group_size={self.group_size}, "
                f"bits={self.bits}, mode={self.mode}")

    def quantize(self):
        """Packs the weight (eval mode's storage)."""
        if not self._quantized:
            self.weight, self.scales = mx.quantize(self.weight, self.group_size, self.bits,
                                                   mode=self.mode)
            self._quantized = True

    def dequantize(self):
        """Unpacks the weight back to float (training mode's storage)."""
        if self._quantized:
            self.weight = mx.dequantize(self.weight, scales=self.scales, group_size=self.group_size,
                                        bits=self.bits, mode=self.mode)
            self.__delattr__("scales")
            self._quantized = False

    def _set_training_mode(self, mode: bool):
        super()._set_training_mode(mode)
        if self._training:
            self.dequantize()
        else:
            self.quantize()

    def __call__(self, x):
        return mx.qqmm(x, self["weight"], scales=self.get("scales"), group_size=self.group_size,
                       bits=self.bits, mode=self.mode)

    @classmethod
    def from_linear(cls, linear_layer: Module, group_size: int = None, bits: int = None,
                    mode: str = "nvfp4"):
        """A QQLinear with the weight of an nn.Linear (which must have no bias)."""
        output_dims, input_dims = linear_layer.weight.shape
        if linear_layer.get("bias") is not None:
            raise NotImplementedError("QQLinear does not support bias yet.")
        ql = cls(input_dims, output_dims, group_size, bits, mode=mode)
        ql.weight = linear_layer.weight
        ql.train(linear_layer.training)
        return ql


def quantize(model: Module, group_size: int = None, bits: int = None, *, mode: str = "affine",
             quantize_input: bool = False,
             class_predicate: Optional[Callable[[str, Module], Union[bool, dict]]] = None) -> None:
    """Replaces, in place, every leaf module that has ``to_quantized`` (Linear, Embedding)
    and that ``class_predicate(path, module)`` accepts with its quantized form.
    ``class_predicate`` may return a dict of ``to_quantized`` arguments for that module.
    ``quantize_input=True`` makes Linear layers QQLinear ("nvfp4" and "mxfp8")."""
    class_predicate = class_predicate or (lambda _, m: hasattr(m, "to_quantized"))

    def maybe(path, m):
        choice = class_predicate(path, m)
        if not choice:
            return m
        if not hasattr(m, "to_quantized"):
            raise ValueError(f"Unable to quantize model of type {type(m)}")
        if isinstance(choice, bool):
            kwargs = {"group_size": group_size, "bits": bits, "mode": mode}
            if quantize_input:
                kwargs["quantize_input"] = quantize_input
            return m.to_quantized(**kwargs)
        if isinstance(choice, dict):
            if "quantize_input" in choice and not choice["quantize_input"]:
                choice = {k: v for k, v in choice.items() if k != "quantize_input"}
            return m.to_quantized(**choice)
        raise ValueError("``class_predicate`` must return a bool or a dict of parameters to "
                         "pass to ``to_quantized``")

    leaves = tree_map_with_path(maybe, model.leaf_modules(), is_leaf=Module.is_module)
    model.update_modules(leaves)
