// CPU kernels of the collectives: each makes its input contiguous and hands the bytes to the
// group's backend (distributed/comm.h); a group of size 1 has no backend and copies. On a GPU
// stream the default eval_gpu runs these on the host.
#include <cstring>

#include "ember/backend/cpu/copy.h"
#include "ember/primitives/distributed.h"

namespace ember {

using distributed::detail::Reduce;

namespace {

// The input as a contiguous host buffer, and the output allocated.
array prepare(const std::vector<array>& inputs, array& out) {
  array x = cpu::ensure_row_contiguous(inputs[0]);
  out.allocate_row_contiguous();
  return x;
}

void copy_bytes(const array& x, array& out) {
  if (x.nbytes() > 0) std::memcpy(out.raw_data(), x.raw_data(), x.nbytes());
}

}  // namespace

void AllReduce::eval_cpu(const std::vector<array>& inputs, array& out) {
  array x = prepare(inputs, out);
  if (!group_.comm()) return copy_bytes(x, out);
  group_.comm()->all_reduce(x.raw_data(), out.raw_data(), x.size(), x.dtype(), reduce_,
                            reduce_ == Reduce::sum   ? "all_sum"
                            : reduce_ == Reduce::max ? "all_max"
                                                     : "all_min");
}

void AllGather::eval_cpu(const std::vector<array>& inputs, array& out) {
  array x = prepare(inputs, out);
  if (!group_.comm()) return copy_bytes(x, out);
  group_.comm()->all_gather(x.raw_data(), out.raw_data(), x.nbytes(), "all_gather");
}

void SumScatter::eval_cpu(const std::vector<array>& inputs, array& out) {
  array x = prepare(inputs, out);
  if (!group_.comm()) return copy_bytes(x, out);
  group_.comm()->sum_scatter(x.raw_data(), out.raw_data(), out.size(), x.dtype(), "sum_scatter");
}

void Send::eval_cpu(const std::vector<array>& inputs, array& out) {
  array x = prepare(inputs, out);
  group_.comm()->send(x.raw_data(), x.nbytes(), dst_, "send");
  copy_bytes(x, out);
}

void Recv::eval_cpu(const std::vector<array>&, array& out) {
  out.allocate_row_contiguous();
  group_.comm()->recv(out.raw_data(), out.nbytes(), src_, "recv");
}

}  // namespace ember
