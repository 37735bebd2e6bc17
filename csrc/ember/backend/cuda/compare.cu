// CUDA kernels of the comparison, logical and bitwise ops of the binary family, and of
// Select (where): the shared elementwise kernels (elementwise.cuh).
#include "ember/backend/cuda/elementwise.cuh"
#include "ember/primitives/binary.h"

namespace ember {

#define EMBER_CUDA_BINARY(Name)                                             \
  void Name::eval_gpu(const std::vector<array>& inputs, array& out) {       \
    cuda::binary_gpu<cuda::ops::Name>(#Name, inputs[0], inputs[1], out);    \
  }

EMBER_CUDA_BINARY(Equal)
EMBER_CUDA_BINARY(NotEqual)
EMBER_CUDA_BINARY(Less)
EMBER_CUDA_BINARY(LessEqual)
EMBER_CUDA_BINARY(Greater)
EMBER_CUDA_BINARY(GreaterEqual)
EMBER_CUDA_BINARY(LogicalAnd)
EMBER_CUDA_BINARY(LogicalOr)
EMBER_CUDA_BINARY(BitwiseAnd)
EMBER_CUDA_BINARY(BitwiseOr)
EMBER_CUDA_BINARY(BitwiseXor)
EMBER_CUDA_BINARY(LeftShift)
EMBER_CUDA_BINARY(RightShift)
#undef EMBER_CUDA_BINARY

void Select::eval_gpu(const std::vector<array>& inputs, array& out) {
  using namespace cuda;
  const array &c = inputs[0], &a = inputs[1], &b = inputs[2];
  const Stream s = out.stream();
  dispatch(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* y = out_ptr<T>(out);
    const int64_t n = out.size();
    if (n == 0) return;
    cudaStream_t cs = stream_of(s);
    const int lc = linear_stride(c, out.shape()), la = linear_stride(a, out.shape()),
              lb = linear_stride(b, out.shape());
    if (lc >= 0 && la >= 0 && lb >= 0) {
      select_linear<T><<<linear_grid(n), kBlock, 0, cs>>>(operand<bool>(c, lc, s),
                                                          operand<T>(a, la, s),
                                                          operand<T>(b, lb, s), y, n);
      return;
    }
    Strides sc = broadcast_strides(c, out.shape()), sa = broadcast_strides(a, out.shape()),
            sb = broadcast_strides(b, out.shape());
    Dims<3> d;
    bool fits32;
    if (!make_dims<3>(out.shape(), {&sc, &sa, &sb}, d, fits32) || !fits32) {
      array cc = contiguous_copy(c, out.shape(), sc, s), ca = contiguous_copy(a, out.shape(), sa, s),
            cb = contiguous_copy(b, out.shape(), sb, s);
      select_linear<T><<<linear_grid(n), kBlock, 0, cs>>>(operand<bool>(cc, 1, s),
                                                          operand<T>(ca, 1, s),
                                                          operand<T>(cb, 1, s), y, n);
      return;
    }
    select_strided<T, int><<<strided_grid(n), kBlock, 0, cs>>>(in<bool>(c, s), in<T>(a, s),
                                                                in<T>(b, s), y, int(n), d);
  });
  check_launch("where");
}

}  // namespace ember
