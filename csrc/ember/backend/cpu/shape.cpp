// CPU kernels of the shape family: views where possible.
#include "ember/backend/cpu/copy.h"
#include "ember/primitives/shape.h"

namespace ember {

void BroadcastTo::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  int lead = out.ndim() - in.ndim();
  Strides st(out.ndim(), 0);
  for (int i = 0; i < in.ndim(); ++i) {
    st[lead + i] = (in.shape(i) == 1 && out.shape(lead + i) != 1) ? 0 : in.strides()[i];
  }
  out.set_view(in, std::move(st), in.offset());
}

void Reshape::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  if (in.flags().row_contiguous) {
    out.set_view(in, row_major_strides(out.shape()), in.offset());
  } else {
    out.allocate_row_contiguous();
    // Copy in logical (row-major) order: the output's flat layout is the input's.
    cpu::copy_into(in, out, row_major_strides(in.shape()), 0);
  }
}

void Transpose::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  Strides st(perm_.size());
  for (size_t i = 0; i < perm_.size(); ++i) st[i] = in.strides()[perm_[i]];
  out.set_view(in, std::move(st), in.offset());
}

}  // namespace ember
