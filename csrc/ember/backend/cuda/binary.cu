// CUDA kernels of the arithmetic ops of the binary family: the shared elementwise kernels
// with each op's device functor (ops.cuh). Comparisons, logic and bits: compare.cu.
#include "ember/backend/cuda/elementwise.cuh"
#include "ember/primitives/binary.h"

namespace ember {

#define EMBER_CUDA_BINARY(Name)                                             \
  void Name::eval_gpu(const std::vector<array>& inputs, array& out) {       \
    cuda::binary_gpu<cuda::ops::Name>(#Name, inputs[0], inputs[1], out);    \
  }

EMBER_CUDA_BINARY(Add)
EMBER_CUDA_BINARY(Subtract)
EMBER_CUDA_BINARY(Multiply)
EMBER_CUDA_BINARY(Divide)
EMBER_CUDA_BINARY(FloorDivide)
EMBER_CUDA_BINARY(Remainder)
EMBER_CUDA_BINARY(Power)
EMBER_CUDA_BINARY(Maximum)
EMBER_CUDA_BINARY(Minimum)
EMBER_CUDA_BINARY(ArcTan2)
EMBER_CUDA_BINARY(LogAddExp)
#undef EMBER_CUDA_BINARY

}  // namespace ember
