"""Parameter initializers. Each returns a function (array) -> new array of its shape
and dtype, as mlx.nn.init does."""
import math

import ember.core as mx


def _fans(shape):
    if len(shape) < 2:
        raise ValueError(f"[init] Fan in/out needs at least 2 dimensions, got shape {shape}.")
    receptive = 1
    for d in shape[1:-1]:
        receptive *= d
    return shape[-1] * receptive, shape[0] * receptive


def constant(value, dtype=mx.float32):
    return lambda a: mx.full(a.shape, value, dtype=dtype)


def normal(mean=0.0, std=1.0, dtype=mx.float32):
    return lambda a: mx.random.normal(a.shape, dtype=dtype) * std + mean


def uniform(low=0.0, high=1.0, dtype=mx.float32):
    return lambda a: mx.random.uniform(low, high, a.shape, dtype=dtype)


def identity(dtype=mx.float32):
    def init(a):
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ValueError(f"[identity] Needs a square matrix, got shape {a.shape}.")
        return mx.eye(a.shape[0], dtype=dtype)

    return init


def glorot_uniform(dtype=mx.float32):
    def init(a, gain=1.0):
        fan_in, fan_out = _fans(a.shape)
        limit = gain * math.sqrt(6.0 / (fan_in + fan_out))
        return mx.random.uniform(-limit, limit, a.shape, dtype=dtype)

    return init


def glorot_normal(dtype=mx.float32):
    def init(a, gain=1.0):
        fan_in, fan_out = _fans(a.shape)
        return mx.random.normal(a.shape, dtype=dtype) * (gain * math.sqrt(2.0 / (fan_in + fan_out)))

    return init


def he_uniform(dtype=mx.float32):
    def init(a, mode="fan_in", gain=1.0):
        fan_in, fan_out = _fans(a.shape)
        fan = fan_in if mode == "fan_in" else fan_out
        limit = gain * math.sqrt(3.0 / fan)
        return mx.random.uniform(-limit, limit, a.shape, dtype=dtype)

    return init


def he_normal(dtype=mx.float32):
    def init(a, mode="fan_in", gain=1.0):
        fan_in, fan_out = _fans(a.shape)
        fan = fan_in if mode == "fan_in" else fan_out
        return mx.random.normal(a.shape, dtype=dtype) * (gain / math.sqrt(fan))

    return init
