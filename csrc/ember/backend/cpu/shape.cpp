// CPU kernels of the shape family: views where possible.
#include "ember/backend/cpu/copy.h"
#include "ember/primitives/shape.h"

#include <algorithm>
#include <cstring>

namespace ember {

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

void SliceUpdate::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  cpu::copy_cast(inputs[0], out);
  // inputs[1] has the window's shape. An empty window writes nothing; a window dimension of
  // one element never moves by its stride, whose product with a step near 2^63 would
  // overflow int64 (x[::2**63 - 1] = v), as in Slice::eval_view.
  const array& window = inputs[1];
  if (window.size() == 0) return;
  Strides st(out.ndim());
  int64_t offset = 0;
  for (int i = 0; i < out.ndim(); ++i) {
    st[i] = window.shape(i) == 1 ? out.strides()[i] : out.strides()[i] * step_[i];
    offset += start_[i] * out.strides()[i];
  }
  cpu::copy_into(window, out, st, offset);
}

void Concatenate::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  // Each input lands in its slab of the output: same strides, shifted offset.
  int64_t offset = 0;
  for (const array& in : inputs) {
    cpu::copy_into(in, out, out.strides(), offset);
    offset += in.shape(axis_) * out.strides()[axis_];
  }
}

void Pad::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  dispatch_dtype(out.dtype(), [&](auto v) {
    using T = decltype(v);
    T value = inputs[1].data<T>()[0];
    std::fill_n(out.data<T>(), out.size(), value);
  });
  int64_t offset = 0;
  for (int i = 0; i < out.ndim(); ++i) offset += widths_[i].first * out.strides()[i];
  cpu::copy_into(inputs[0], out, out.strides(), offset);
}

}  // namespace ember

namespace ember {

// A view of a row-contiguous input (the strides rescale); otherwise a
// row-major copy first, then the same reading of its bytes.
void View::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  if (in.flags().row_contiguous && (in.offset() * int64_t(in.itemsize())) % out.itemsize() == 0) {
    out.set_view(in, row_major_strides(out.shape()),
                 in.offset() * int64_t(in.itemsize()) / int64_t(out.itemsize()));
    return;
  }
  array c = cpu::ensure_row_contiguous(in);
  out.allocate_row_contiguous();
  if (out.nbytes() > 0) std::memcpy(out.data<uint8_t>(), c.data<uint8_t>(), out.nbytes());
}

}  // namespace ember
