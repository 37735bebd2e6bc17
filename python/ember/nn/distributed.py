"""Tensor-parallel linear layers over a distributed group (mlx.nn's AllToShardedLinear and
ShardedToAllLinear) and shard_linear.

A pair splits a block across the group's processes: AllToShardedLinear keeps this rank's
slice of the output features (its input is the whole activation, and its input gradient is
summed over the group); ShardedToAllLinear takes this rank's slice of the input features and
sums the partial products over the group (all_sum), so every rank gets the whole output.
"""
from __future__ import annotations

import math
from typing import List, Optional, Union

import ember.core as mx
from ember.nn.layers import Linear
from ember.nn.module import Module


def _group(group: Optional[mx.distributed.Group]) -> mx.distributed.Group:
    return group if group is not None else mx.distributed.init()


def sum_gradients(group: Optional[mx.distributed.Group] = None):
    """An identity whose vjp sums the cotangent over the group: the input of a layer whose
    output is split across the group gets the gradient of every rank's part."""
    group = _group(group)
    if group.size() == 1:
        return lambda x: x

    @mx.custom_function
    def f(x):
        return x

    @f.vjp
    def f_vjp(primals, cotangent, output):
        return (mx.distributed.all_sum(cotangent, group=group),)

    return f


def _split(op: str, dims: int, n: int, what: str) -> int:
    if dims % n != 0:
        raise ValueError(f"[{op}] {what} ({dims}) must be divisible by the group size ({n}).")
    return dims // n


def _segments(op: str, dims: int, segments: Union[int, List[int]]) -> List[int]:
    """Segment boundaries along a dimension of size dims: `segments` equal parts, or the
    given split points."""
    if isinstance(segments, int):
        if segments < 1 or dims % segments != 0:
            raise ValueError(f"[{op}] {dims} features cannot be cut into {segments} equal "
                             "segments.")
        step = dims // segments
        return [step * i for i in range(segments + 1)]
    points = [0] + list(segments) + [dims]
    if any(b < a for a, b in zip(points, points[1:])):
        raise ValueError(f"[{op}] segments must be increasing split points in [0, {dims}], "
                         f"got {list(segments)}.")
    return points


def _shard(op: str, w: mx.array, axis: int, segments, group: mx.distributed.Group) -> mx.array:
    """This rank's part of each segment of w along axis, concatenated."""
    n, r = group.size(), group.rank()
    pts = _segments(op, w.shape[axis], segments)
    parts = []
    for a, b in zip(pts, pts[1:]):
        m = _split(op, b - a, n, "Each segment's size")
        idx = [slice(None)] * w.ndim
        idx[axis] = slice(a + r * m, a + (r + 1) * m)
        parts.append(w[tuple(idx)])
    return mx.concatenate(parts, axis=axis) if len(parts) > 1 else parts[0]


class AllToShardedLinear(Module):
    """y = x @ weight.T + bias for this rank's output features: weight
    (output_dims / size, input_dims). The input is the same on every rank and its gradient
    is summed over the group; the output is split across the group along the last axis.

    Args:
        input_dims: Input features.
        output_dims: Output features of the whole layer (divisible by the group's size).
        bias: Whether to add a bias.
        group: The group the output is split across (the global group when None).
    """

    def __init__(self, input_dims: int, output_dims: int, bias: bool = True,
                 group: Optional[mx.distributed.Group] = None) -> None:
        super().__init__()
        self.group = _group(group)
        out = _split("AllToShardedLinear", output_dims, self.group.size(), "output_dims")
        scale = math.sqrt(1.0 / input_dims)
        self.weight = mx.random.uniform(-scale, scale, (out, input_dims))
        if bias:
            self.bias = mx.random.uniform(-scale, scale, (out,))

    def _extra_repr(self):
        o, i = self.weight.shape
        return (f"input_dims={i}, output_dims={o * self.group.size()}, bias={'bias' in self}, "
                f"group_size={self.group.size()}")

    def __call__(self, x):
        x = sum_gradients(self.group)(x)
        y = x @ self.weight.T
        return y + self.bias if "bias" in self else y

    @classmethod
    def from_linear(cls, linear_layer: Module, *, segments: Union[int, List[int]] = 1,
                    group: Optional[mx.distributed.Group] = None) -> "AllToShardedLinear":
        """This rank's rows of a Linear layer's weight (and bias); with segments, each
        segment of the output features (e.g. fused q, k, v) is split on its own."""
        group = _group(group)
        o, i = linear_layer.weight.shape
        layer = cls(i, o, bias="bias" in linear_layer, group=group)
        layer.weight = _shard("AllToShardedLinear", linear_layer.weight, 0, segments, group)
        if "bias" in linear_layer:
            layer.bias = _shard("AllToShardedLinear", linear_layer.bias, 0, segments, group)
        return layer


class ShardedToAllLinear(Module):
    """y = all_sum(x @ weight.T) + bias, x holding this rank's input features: weight
    (output_dims, input_dims / size). Every rank gets the whole output.

    Args:
        input_dims: Input features of the whole layer (divisible by the group's size).
        output_dims: Output features.
        bias: Whether to add a bias (added once, after the sum).
        group: The group the input is split across (the global group when None).
    """

    def __init__(self, input_dims: int, output_dims: int, bias: bool = True,
                 group: Optional[mx.distributed.Group] = None) -> None:
        super().__init__()
        self.group = _group(group)
        i = _split("ShardedToAllLinear", input_dims, self.group.size(), "input_dims")
        scale = math.sqrt(1.0 / input_dims)
        self.weight = mx.random.uniform(-scale, scale, (output_dims, i))
        if bias:
            self.bias = mx.random.uniform(-scale, scale, (output_dims,))

    def _extra_repr(self):
        o, i = self.weight.shape
        return (f"input_dims={i * self.group.size()}, output_dims={o}, bias={'bias' in self}, "
                f"group_size={self.group.size()}")

    def __call__(self, x):
        y = mx.distributed.all_sum(x @ self.weight.T, group=self.group)
        return y + self.bias if "bias" in self else y

    @classmethod
    def from_linear(cls, linear_layer: Module, *, segments: Union[int, List[int]] = 1,
                    group: Optional[mx.distributed.Group] = None) -> "ShardedToAllLinear":
        """This rank's columns of a Linear layer's weight; the bias is kept whole."""
        group = _group(group)
        o, i = linear_layer.weight.shape
        layer = cls(i, o, bias="bias" in linear_layer, group=group)
        layer.weight = _shard("ShardedToAllLinear", linear_layer.weight, 1, segments, group)
        if "bias" in linear_layer:
            layer.bias = linear_layer.bias
        return layer


def shard_linear(module: Module, sharding: str, *, segments: Union[int, List[int]] = 1,
                 group: Optional[mx.distributed.Group] = None) -> Module:
    """A sharded copy of a Linear layer: sharding is "all-to-sharded" or "sharded-to-all"."""
    if not isinstance(module, Linear):
        raise TypeError(f"[shard_linear] Expected an nn.Linear, got {type(module).__name__}.")
    kinds = {"all-to-sharded": AllToShardedLinear, "sharded-to-all": ShardedToAllLinear}
    if sharding not in kinds:
        raise ValueError(f'[shard_linear] sharding must be "all-to-sharded" or '
                         f'"sharded-to-all", got {sharding!r}.')
    return kinds[sharding].from_linear(module, segments=segments, group=group)
