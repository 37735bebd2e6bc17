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


def orthogonal(gain: float = 1.0, dtype=mx.float32):
    """A random orthogonal matrix (Saxe et al. 2014), times gain: the Q of a QR
    factorization of a Gaussian matrix, columns signed so that R's diagonal is positive,
    cut to the array's (rows, cols)."""
    def init(a):
        if a.ndim != 2:
            raise ValueError(f"[orthogonal] Needs a 2-d array, got shape {a.shape}.")
        rows, cols = a.shape
        n = max(rows, cols)
        g = mx.random.normal((n, n))
        if hasattr(mx, "linalg") and hasattr(mx.linalg, "qr"):
            q, r = mx.linalg.qr(g)
            q = q * mx.sign(mx.diagonal(r))
        else:  # modified Gram-Schmidt over the columns (R's diagonal is positive)
            cols_out = []
            for j in range(n):
                v = g[:, j]
                for u in cols_out:
                    v = v - mx.sum(u * v) * u
                cols_out.append(v / mx.sqrt(mx.sum(v * v)))
            q = mx.stack(cols_out, axis=1)
        return (gain * q[:rows, :cols]).astype(dtype)

    return init


def sparse(sparsity: float, mean: float = 0.0, std: float = 1.0, dtype=mx.float32):
    """Normal(mean, std) entries with a fraction ``sparsity`` of each column set to zero
    (Martens 2010)."""
    def init(a):
        if a.ndim != 2:
            raise ValueError(f"[sparse] Needs a 2-d array, got shape {a.shape}.")
        rows, cols = a.shape
        zeros = int(math.ceil(sparsity * rows))
        values = mx.random.normal((rows, cols), dtype=dtype) * std + mean
        rank = mx.argsort(mx.argsort(mx.random.uniform(shape=(rows, cols)), axis=0), axis=0)
        return mx.where(rank < zeros, mx.zeros_like(values), values)

    return init
