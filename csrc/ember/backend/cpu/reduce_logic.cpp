// Instantiates the max, min, all and any reductions (reduce_kernels.h).
#include "ember/backend/cpu/reduce_kernels.h"

namespace ember::cpu {

void reduce_logic(ReduceKind kind, const array& in, array& out, const std::vector<int>& axes) {
  using namespace reduce_kernels;
  switch (kind) {
    case ReduceKind::max: reduce_kernels::reduce_logic<Max, false>("max", in, out, axes); break;
    case ReduceKind::min: reduce_kernels::reduce_logic<Min, false>("min", in, out, axes); break;
    case ReduceKind::all: reduce_kernels::reduce_logic<All, true>("all", in, out, axes); break;
    case ReduceKind::any: reduce_kernels::reduce_logic<Any, true>("any", in, out, axes); break;
    default: throw std::logic_error("[reduce] not a logic reduction");
  }
}

}  // namespace ember::cpu
