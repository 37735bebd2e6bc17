"""Activation functions (mlx.nn's), as functions and as layers."""
import inspect
import math

import ember.core as mx
from ember.nn.module import Module


def relu(x):
    """max(x, 0); its derivative at 0 is 0."""
    return mx.where(x > 0, x, mx.zeros_like(x))


def relu6(x):
    """min(max(x, 0), 6)."""
    return mx.minimum(relu(x), 6.0)


def relu2(x):
    """relu(x) ** 2."""
    return mx.square(relu(x))


def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise."""
    return mx.where(x > 0, x, x * negative_slope)


def prelu(x, alpha):
    """max(0, x) + alpha * min(0, x), with alpha an array (learned by PReLU)."""
    return relu(x) + alpha * mx.minimum(x, 0.0)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (e^x - 1) otherwise."""
    return mx.where(x > 0, x, alpha * mx.expm1(mx.minimum(x, 0.0)))


def celu(x, alpha=1.0):
    """max(0, x) + alpha * (e^(min(0, x) / alpha) - 1)."""
    return relu(x) + alpha * mx.expm1(mx.minimum(x, 0.0) / alpha)


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def selu(x):
    """scale * elu(x, alpha) with Klambauer et al.'s alpha = 1.67326, scale = 1.05070."""
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def sigmoid(x):
    """1 / (1 + e^-x)."""
    return mx.sigmoid(x)


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), finite for large |x|."""
    return -softplus(-x)


def tanh(x):
    return mx.tanh(x)


def silu(x):
    """x * sigmoid(x) (swish)."""
    return x * mx.sigmoid(x)


def softplus(x):
    """log(1 + e^x), finite for large |x|."""
    return mx.logaddexp(x, 0.0)


def softsign(x):
    """x / (1 + |x|)."""
    return x / (1 + mx.abs(x))


def softshrink(x, lambd: float = 0.5):
    """x - lambd for x > lambd, x + lambd for x < -lambd, 0 between."""
    return mx.where(mx.abs(x) > lambd, x - mx.sign(x) * lambd, mx.zeros_like(x))


def hard_shrink(x, lambd=0.5):
    """x where |x| > lambd, 0 elsewhere."""
    return mx.where(mx.abs(x) > lambd, x, mx.zeros_like(x))


def hard_tanh(x, min_val=-1.0, max_val=1.0):
    """x clipped to [min_val, max_val]."""
    return mx.minimum(mx.maximum(x, min_val), max_val)


def hardswish(x):
    """x * relu6(x + 3) / 6."""
    return x * relu6(x + 3) / 6


def mish(x):
    """x * tanh(softplus(x)) (Misra 2019)."""
    return x * mx.tanh(softplus(x))


def gelu(x):
    """x * Phi(x) with the exact Gaussian CDF."""
    return x * (1.0 + mx.erf(x / math.sqrt(2.0))) * 0.5


def gelu_approx(x):
    """The tanh approximation of gelu: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return 0.5 * x * (1.0 + mx.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


def gelu_fast_approx(x):
    """The sigmoid approximation of gelu: x * sigmoid(1.702 x)."""
    return x * mx.sigmoid(1.702 * x)


def glu(x, axis: int = -1):
    """a * sigmoid(b), where a and b are the two halves of x along axis."""
    if x.shape[axis] % 2:
        raise ValueError(f"[glu] The size {x.shape[axis]} of axis {axis} of input {tuple(x.shape)} "
                         f"must be even.")
    a, b = mx.split(x, 2, axis=axis)
    return a * mx.sigmoid(b)


def step(x, threshold: float = 0.0):
    """1 where x > threshold, 0 elsewhere (the binary step)."""
    return mx.where(x > threshold, 1, 0)


def softmax(x, axis=-1):
    return mx.softmax(x, axis=axis)


def softmin(x, axis=-1):
    """softmax(-x)."""
    return mx.softmax(-x, axis=axis)


def log_softmax(x, axis=-1):
    """x - logsumexp(x), computed stably."""
    return x - mx.logsumexp(x, axis=axis, keepdims=True)


def _layer(name, fn, doc, params=()):
    """A parameter-free layer calling fn(x, **its constructor arguments)."""
    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        if len(args) > len(params):
            raise TypeError(f"{name}() takes {len(params)} arguments, got {len(args)}.")
        options = dict(params)
        for (k, _), v in zip(params, args):
            options[k] = v
        for k, v in kwargs.items():
            if k not in options:
                raise TypeError(f"{name}() got an unexpected keyword argument {k!r}.")
            options[k] = v
        object.__setattr__(self, "_options", options)

    def __call__(self, x):
        return fn(x, **self._options)

    def _extra_repr(self):
        return ", ".join(f"{k}={v}" for k, v in self._options.items())

    P = inspect.Parameter
    __init__.__signature__ = inspect.Signature(
        [P("self", P.POSITIONAL_OR_KEYWORD)] + [P(k, P.POSITIONAL_OR_KEYWORD, default=v) for k, v in params])
    return type(name, (Module,), {"__init__": __init__, "__call__": __call__,
                                  "_extra_repr": _extra_repr, "__doc__": doc})


ReLU = _layer("ReLU", relu, "Layer form of relu.")
ReLU6 = _layer("ReLU6", relu6, "Layer form of relu6.")
ReLU2 = _layer("ReLU2", relu2, "Layer form of relu2.")
LeakyReLU = _layer("LeakyReLU", leaky_relu, "Layer form of leaky_relu.", (("negative_slope", 0.01),))
ELU = _layer("ELU", elu, "Layer form of elu.", (("alpha", 1.0),))
CELU = _layer("CELU", celu, "Layer form of celu.", (("alpha", 1.0),))
SELU = _layer("SELU", selu, "Layer form of selu.")
Sigmoid = _layer("Sigmoid", sigmoid, "Layer form of sigmoid.")
LogSigmoid = _layer("LogSigmoid", log_sigmoid, "Layer form of log_sigmoid.")
Tanh = _layer("Tanh", tanh, "Layer form of tanh.")
SiLU = _layer("SiLU", silu, "Layer form of silu.")
Softplus = _layer("Softplus", softplus, "Layer form of softplus.")
Softsign = _layer("Softsign", softsign, "Layer form of softsign.")
Softshrink = _layer("Softshrink", softshrink, "Layer form of softshrink.", (("lambd", 0.5),))
HardShrink = _layer("HardShrink", hard_shrink, "Layer form of hard_shrink.", (("lambd", 0.5),))
HardTanh = _layer("HardTanh", hard_tanh, "Layer form of hard_tanh (to [-1, 1]).")
Hardswish = _layer("Hardswish", hardswish, "Layer form of hardswish.")
Mish = _layer("Mish", mish, "Layer form of mish.")
GLU = _layer("GLU", glu, "Layer form of glu.", (("axis", -1),))
Step = _layer("Step", step, "Layer form of step.", (("threshold", 0.0),))
Softmax = _layer("Softmax", softmax, "Layer form of softmax (last axis).")
Softmin = _layer("Softmin", softmin, "Layer form of softmin (last axis).")
LogSoftmax = _layer("LogSoftmax", log_softmax, "Layer form of log_softmax (last axis).")


class GELU(Module):
    """Layer form of gelu: approx 'none' (exact), 'precise' or 'tanh' (gelu_approx) or
    'fast' (gelu_fast_approx)."""

    def __init__(self, approx="none"):
        super().__init__()
        fns = {"none": gelu, "precise": gelu_approx, "tanh": gelu_approx, "fast": gelu_fast_approx}
        if approx not in fns:
            raise ValueError(f"[GELU] approx must be one of {sorted(fns)}, got {approx!r}.")
        self._approx = approx
        self._fn = fns[approx]

    def _extra_repr(self):
        return f"approx={self._approx!r}"

    def __call__(self, x):
        return self._fn(x)


class PReLU(Module):
    """prelu with a learned slope: ``weight`` of shape (num_parameters,) filled with init."""

    def __init__(self, num_parameters=1, init=0.25):
        super().__init__()
        self.weight = mx.full([num_parameters], init)

    def __call__(self, x):
        return prelu(x, self.weight)
