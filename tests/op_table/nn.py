"""Op-table rows for ember.nn's functional pieces (activations, losses, normalization), so
the generic sweeps check their values, gradients and vmap too. (Convolutions: conv.py.)"""
import math

import numpy as np

import ember.core as mx
import ember.nn as nn


from . import OpRow, np_dtype

SHAPES = [((3, 5),), ((2, 3, 4),)]


def _erf(x):
    return np.vectorize(math.erf)(x)


def _log_softmax(x):
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def _layer_norm(x, w, b):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * w + b


def _ln(x, w, b):
    mean = mx.mean(x, axis=-1, keepdims=True)
    return (x - mean) * mx.rsqrt(mx.var(x, axis=-1, keepdims=True) + 1e-5) * w + b


def _ce_make(rng, shapes, dtype):
    logits = rng.standard_normal(shapes[0]).astype(np_dtype(dtype))
    targets = rng.integers(0, shapes[0][-1], size=shapes[1]).astype(np.int32)
    return [logits, targets]


def _ce_ref(logits, targets):
    lp = _log_softmax(logits.astype(np.float64))
    return -np.take_along_axis(lp, targets[..., None].astype(np.int64), -1)[..., 0]


ROWS = [
    OpRow("nn.gelu", lambda x: nn.gelu(x), lambda x: x * 0.5 * (1 + _erf(x / np.sqrt(2))), SHAPES),
    OpRow("nn.silu", lambda x: nn.silu(x), lambda x: x / (1 + np.exp(-x)), SHAPES),
    OpRow("nn.elu", lambda x: nn.elu(x), lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), SHAPES,
          smooth=False),
    OpRow("nn.log_softmax", lambda x: nn.log_softmax(x), _log_softmax, SHAPES),
    OpRow("nn.cross_entropy", lambda l, t: nn.losses.cross_entropy(l, t),
          _ce_ref, [((4, 5), (4,)), ((2, 3, 6), (2, 3))], make=_ce_make, grad_args=(0,)),
    OpRow("nn.mse_loss", lambda a, b: nn.losses.mse_loss(a, b), lambda a, b: np.mean((a - b) ** 2),
          [((3, 4), (3, 4))]),
    OpRow("nn.layer_norm", _ln, _layer_norm, [((3, 6), (6,), (6,)), ((2, 2, 4), (4,), (4,))],
          rtol=1e-4, atol=1e-5),
]
