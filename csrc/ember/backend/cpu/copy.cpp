// Strided copies with conversion.
#include "ember/backend/cpu/copy.h"

#include <cstring>

#include "ember/backend/common/convert.h"
#include "ember/backend/common/strided.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/primitives/primitive.h"

namespace ember::cpu {

namespace {

template <typename S, typename D>
void copy_typed(const array& src, D* dst_base, const Strides& dst_strides) {
  const S* s = src.data<S>();
  auto L = detail::collapse<2>(src.shape(), {&src.strides(), &dst_strides});
  int64_t rows = detail::num_rows(L);
  int64_t row_len = L.shape.back();
  parallel_for(rows, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(row_len, 1)),
               [&](int64_t b, int64_t e) {
                 detail::for_each_row(L, b, e, [&](const auto& off, int64_t n, const auto& st) {
                   const S* xs = s + off[0];
                   D* ys = dst_base + off[1];
                   if (st[0] == 1 && st[1] == 1) {
                     for (int64_t i = 0; i < n; ++i) ys[i] = detail::convert<D>(xs[i]);
                   } else {
                     for (int64_t i = 0; i < n; ++i) ys[i * st[1]] = detail::convert<D>(xs[i * st[0]]);
                   }
                 });
               });
}

}  // namespace

void copy_into(const array& src, const array& dst, const Strides& dst_strides, int64_t dst_offset) {
  if (src.size() == 0) return;
  dispatch_dtype(src.dtype(), [&](auto sv) {
    using S = decltype(sv);
    dispatch_dtype(dst.dtype(), [&](auto dv) {
      using D = decltype(dv);
      D* base = static_cast<D*>(dst.buffer()->data()) + dst_offset;
      copy_typed<S, D>(src, base, dst_strides);
    });
  });
}

void copy_cast(const array& src, array& dst) {
  if (src.dtype() == dst.dtype() && src.flags().row_contiguous && dst.flags().row_contiguous) {
    if (src.size() > 0) std::memcpy(dst.raw_data(), src.raw_data(), src.nbytes());
    return;
  }
  copy_into(src, dst, dst.strides(), dst.offset());
}

array ensure_row_contiguous(const array& a) {
  if (a.flags().row_contiguous) return a;
  array out = array::placeholder(a.shape(), a.dtype());
  out.allocate_row_contiguous();
  copy_cast(a, out);
  return out;
}

}  // namespace ember::cpu
