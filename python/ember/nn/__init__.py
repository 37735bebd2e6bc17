"""ember.nn: modules, layers, activations, losses and initializers (mlx.nn's API)."""
from ember.nn import init, losses  # noqa: F401
from ember.nn.activations import (  # noqa: F401
    ELU, GELU, LeakyReLU, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax, Tanh, elu, gelu, gelu_approx,
    leaky_relu, log_softmax, relu, sigmoid, silu, softmax, tanh,
)
from ember.nn.layers import (  # noqa: F401
    BatchNorm, Conv1d, Conv2d, Dropout, Embedding, LayerNorm, Linear, MultiHeadAttention, RMSNorm,
    Sequential,
)
from ember.nn.module import Module  # noqa: F401
from ember.nn.utils import value_and_grad  # noqa: F401
