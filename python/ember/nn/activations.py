"""Activation functions, as functions and as parameter-free layers."""
import math

import ember.core as mx
from ember.nn.module import Module


def relu(x):
    """max(x, 0)."""
    return mx.maximum(x, 0.0)


def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise."""
    return mx.where(x > 0, x, x * negative_slope)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (e^x - 1) otherwise."""
    return mx.where(x > 0, x, alpha * mx.expm1(mx.minimum(x, 0.0)))


def sigmoid(x):
    return mx.sigmoid(x)


def tanh(x):
    return mx.tanh(x)


def silu(x):
    """x * sigmoid(x) (a.k.a. swish)."""
    return x * mx.sigmoid(x)


def gelu(x):
    """x * Phi(x) with the exact Gaussian CDF."""
    return x * (1.0 + mx.erf(x / math.sqrt(2.0))) * 0.5


def gelu_approx(x):
    """The tanh approximation of gelu."""
    return 0.5 * x * (1.0 + mx.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


def softmax(x, axis=-1):
    return mx.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """x - logsumexp(x), computed stably."""
    return x - mx.logsumexp(x, axis=axis, keepdims=True)


def _layer(name, fn, doc):
    def __init__(self, **kwargs):
        Module.__init__(self)
        object.__setattr__(self, "_kwargs", kwargs)

    def __call__(self, x):
        return fn(x, **self._kwargs)

    def _extra_repr(self):
        return ", ".join(f"{k}={v}" for k, v in self._kwargs.items())

    return type(name, (Module,), {"__init__": __init__, "__call__": __call__,
                                  "_extra_repr": _extra_repr, "__doc__": doc})


ReLU = _layer("ReLU", relu, "Layer form of relu.")
LeakyReLU = _layer("LeakyReLU", leaky_relu, "Layer form of leaky_relu(negative_slope=0.01).")
ELU = _layer("ELU", elu, "Layer form of elu(alpha=1.0).")
Sigmoid = _layer("Sigmoid", sigmoid, "Layer form of sigmoid.")
Tanh = _layer("Tanh", tanh, "Layer form of tanh.")
SiLU = _layer("SiLU", silu, "Layer form of silu.")
GELU = _layer("GELU", gelu, "Layer form of gelu.")
Softmax = _layer("Softmax", softmax, "Layer form of softmax(axis=-1).")
LogSoftmax = _layer("LogSoftmax", log_softmax, "Layer form of log_softmax(axis=-1).")
