// Instantiates the sum and prod reductions (reduce_kernels.h).
#include "ember/backend/cpu/reduce_kernels.h"

namespace ember::cpu {

void reduce_arith(ReduceKind kind, const array& in, array& out, const std::vector<int>& axes) {
  using namespace reduce_kernels;
  if (kind == ReduceKind::sum) reduce_kernels::reduce_arith<Sum>("sum", in, out, axes);
  else reduce_kernels::reduce_arith<Prod>("prod", in, out, axes);
}

}  // namespace ember::cpu
