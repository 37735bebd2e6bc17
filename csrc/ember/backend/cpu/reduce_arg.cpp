// Instantiates argmax and argmin (reduce_kernels.h).
#include "ember/backend/cpu/reduce_kernels.h"

namespace ember::cpu {

void arg_reduce(bool is_max, const array& in, array& out, int axis) {
  using namespace reduce_kernels;
  dispatch_dtype(in.dtype(), [&](auto v) {
    using T = decltype(v);
    if constexpr (std::is_same_v<T, complex64_t>) {
      throw type_error(msg("[", is_max ? "argmax" : "argmin", "] Not supported for complex64."));
    } else if (is_max) {
      reduce_kernels::arg_reduce<true, T>(in, out, axis);
    } else {
      reduce_kernels::arg_reduce<false, T>(in, out, axis);
    }
  });
}

}  // namespace ember::cpu
