"""ember.nn (mlx.nn's API): Module, layers, activations, losses and initializers."""
from ember.nn import init, losses  # noqa: F401
from ember.nn.activations import (  # noqa: F401
    CELU, ELU, GELU, GLU, SELU, HardShrink, HardTanh, Hardswish, LeakyReLU, LogSigmoid, LogSoftmax,
    Mish, PReLU, ReLU, ReLU2, ReLU6, SiLU, Sigmoid, Softmax, Softmin, Softplus, Softshrink, Softsign,
    Step, Tanh, celu, elu, gelu, gelu_approx, gelu_fast_approx, glu, hard_shrink, hard_tanh,
    hardswish, leaky_relu, log_sigmoid, log_softmax, mish, prelu, relu, relu2, relu6, selu, sigmoid,
    silu, softmax, softmin, softplus, softshrink, softsign, step, tanh,
)
from ember.nn.convolution import (  # noqa: F401
    Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d,
)
from ember.nn.layers import (  # noqa: F401
    Bilinear, Dropout, Dropout2d, Dropout3d, Embedding, Identity, Linear, Sequential,
)
from ember.nn.distributed import AllToShardedLinear, ShardedToAllLinear, shard_linear  # noqa: F401
from ember.nn.module import Module  # noqa: F401
from ember.nn.normalization import BatchNorm, GroupNorm, InstanceNorm, LayerNorm, RMSNorm  # noqa: F401
from ember.nn.pooling import AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d  # noqa: F401
from ember.nn.positional_encoding import ALiBi, RoPE, SinusoidalPositionalEncoding  # noqa: F401
from ember.nn.quantized import QQLinear, QuantizedEmbedding, QuantizedLinear, quantize  # noqa: F401
from ember.nn.recurrent import GRU, LSTM, RNN  # noqa: F401
from ember.nn.transformer import (  # noqa: F401
    MultiHeadAttention, Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
    TransformerEncoderLayer,
)
from ember.nn.upsample import Upsample  # noqa: F401
from ember.nn.utils import average_gradients, value_and_grad  # noqa: F401
