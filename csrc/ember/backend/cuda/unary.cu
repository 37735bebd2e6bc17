// CUDA kernels of the unary family: the shared elementwise kernels with each op's device
// functor (ops.cuh).
#include "ember/backend/cuda/elementwise.cuh"
#include "ember/primitives/unary.h"

namespace ember {

#define EMBER_CUDA_UNARY(Name)                                          \
  void Name::eval_gpu(const std::vector<array>& inputs, array& out) {   \
    cuda::unary_gpu<cuda::ops::Name>(#Name, inputs[0], out);            \
  }

EMBER_CUDA_UNARY(Abs)
EMBER_CUDA_UNARY(Negative)
EMBER_CUDA_UNARY(Sign)
EMBER_CUDA_UNARY(Square)
EMBER_CUDA_UNARY(Sqrt)
EMBER_CUDA_UNARY(Rsqrt)
EMBER_CUDA_UNARY(Reciprocal)
EMBER_CUDA_UNARY(Exp)
EMBER_CUDA_UNARY(Expm1)
EMBER_CUDA_UNARY(Log)
EMBER_CUDA_UNARY(Log1p)
EMBER_CUDA_UNARY(Log2)
EMBER_CUDA_UNARY(Log10)
EMBER_CUDA_UNARY(Sin)
EMBER_CUDA_UNARY(Cos)
EMBER_CUDA_UNARY(Tan)
EMBER_CUDA_UNARY(ArcSin)
EMBER_CUDA_UNARY(ArcCos)
EMBER_CUDA_UNARY(ArcTan)
EMBER_CUDA_UNARY(Sinh)
EMBER_CUDA_UNARY(Cosh)
EMBER_CUDA_UNARY(Tanh)
EMBER_CUDA_UNARY(ArcSinh)
EMBER_CUDA_UNARY(ArcCosh)
EMBER_CUDA_UNARY(ArcTanh)
EMBER_CUDA_UNARY(Sigmoid)
EMBER_CUDA_UNARY(Erf)
EMBER_CUDA_UNARY(ErfInv)
EMBER_CUDA_UNARY(Floor)
EMBER_CUDA_UNARY(Ceil)
EMBER_CUDA_UNARY(Round)
EMBER_CUDA_UNARY(LogicalNot)
EMBER_CUDA_UNARY(IsNan)
EMBER_CUDA_UNARY(IsInf)
EMBER_CUDA_UNARY(BitwiseInvert)
#undef EMBER_CUDA_UNARY

}  // namespace ember
