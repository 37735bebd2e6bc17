// CPU kernels of Reduce and ArgReduce. The reduced and the kept axes are each
// collapsed, then one of two loops runs:
//  * runs: each output reduces runs along the innermost reduced axis, with 32
//    independent lanes so the loop vectorizes (strided runs use the same code);
//  * rows: when the innermost kept axis is contiguous (reducing leading axes),
//    or the reduced runs are too short to vectorize, rows of the input are
//    accumulated into a tile of outputs at once (vectorized when contiguous).
// Float sums add 32-lane blocks of at most 32 values per lane in float and fold
// each block into a double, so sum(ones(2**22) * 1.1) is right to ~1e-7.
// Work is split over outputs, or, when there are fewer outputs than threads,
// over the reduced elements with partial results combined in a fixed order.
#include "ember/errors.h"
#include "ember/primitives/reduce.h"

namespace ember::cpu {
// The three instantiation units (reduce_arith.cpp, reduce_logic.cpp, reduce_arg.cpp).
void reduce_arith(ReduceKind kind, const array& in, array& out, const std::vector<int>& axes);
void reduce_logic(ReduceKind kind, const array& in, array& out, const std::vector<int>& axes);
void arg_reduce(bool is_max, const array& in, array& out, int axis);
}  // namespace ember::cpu

namespace ember {

void Reduce::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  const array& in = inputs[0];
  switch (kind_) {
    case ReduceKind::sum:
    case ReduceKind::prod: cpu::reduce_arith(kind_, in, out, axes_); break;
    default: cpu::reduce_logic(kind_, in, out, axes_); break;
  }
}

void ArgReduce::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  cpu::arg_reduce(is_max_, inputs[0], out, axis_);
}

}  // namespace ember
