// Kernels that do not depend on the device: views (the output points into the input's
// buffer with new strides and offset) and identities. Each is the eval_cpu and the eval_gpu of
// its primitive (EMBER_VIEW_PRIMITIVE_RULES), so every backend shares them.
#include "ember/primitives/shape.h"
#include "ember/primitives/unary.h"
#include "ember/transforms/trace.h"

namespace ember {

void BroadcastTo::eval_view(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  int lead = out.ndim() - in.ndim();
  Strides st(out.ndim(), 0);
  for (int i = 0; i < in.ndim(); ++i) {
    st[lead + i] = (in.shape(i) == 1 && out.shape(lead + i) != 1) ? 0 : in.strides()[i];
  }
  out.set_view(in, std::move(st), in.offset());
}

void Transpose::eval_view(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  Strides st(perm_.size());
  for (size_t i = 0; i < perm_.size(); ++i) st[i] = in.strides()[perm_[i]];
  out.set_view(in, std::move(st), in.offset());
}

void Slice::eval_view(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  // An empty window addresses nothing (it may start one past the end, and the strides of an
  // empty array with huge dimensions times its start or step overflow int64): the input's
  // strides and offset.
  if (out.size() == 0) {
    out.set_view(in, in.strides(), in.offset());
    return;
  }
  Strides st(in.ndim());
  int64_t offset = in.offset();
  for (int i = 0; i < in.ndim(); ++i) {
    // A dimension of one element never moves by its stride; a step near 2^63 times the
    // stride would overflow (x[::2**63 - 1]).
    st[i] = out.shape(i) == 1 ? in.strides()[i] : in.strides()[i] * step_[i];
    offset += start_[i] * in.strides()[i];
  }
  out.set_view(in, std::move(st), offset);
}

void StopGradient::eval_view(const std::vector<array>& inputs, array& out) {
  out.set_view(inputs[0], inputs[0].strides(), inputs[0].offset());
}

void Depends::eval_view(const std::vector<array>& inputs, array& out) {
  out.set_view(inputs[0], inputs[0].strides(), inputs[0].offset());
}

void Split::eval_view_multi(const std::vector<array>& inputs, std::vector<array>& outputs) {
  const array& in = inputs[0];
  for (size_t k = 0; k < outputs.size(); ++k) {
    int64_t offset = outputs[k].size() == 0 ? in.offset()
                                            : in.offset() + bounds_[k] * in.strides()[axis_];
    outputs[k].set_view(in, in.strides(), offset);
  }
}

void detail::TraceInput::eval_view(const std::vector<array>& inputs, array& out) {
  out.set_view(inputs[0], inputs[0].strides(), inputs[0].offset());
}

}  // namespace ember
