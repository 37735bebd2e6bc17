// CPU kernels of the creation family.
#include "ember/backend/common/convert.h"
#include "ember/backend/cpu/copy.h"
#include "ember/primitives/creation.h"

namespace ember {

void Arange::eval_cpu(const std::vector<array>&, array& out) {
  out.allocate_row_contiguous();
  dispatch_dtype(out.dtype(), [&](auto v) {
    using T = decltype(v);
    T* y = out.data<T>();
    for (int64_t i = 0; i < out.size(); ++i) {
      y[i] = detail::convert<T>(start_ + double(i) * step_);
    }
  });
}

void Copy::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  cpu::copy_cast(inputs[0], out);
}

}  // namespace ember
