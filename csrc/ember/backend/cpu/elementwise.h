// Elementwise kernel templates shared by the unary, binary and ternary
// families: flat loops for contiguous operands, stride-specialized inner loops
// for broadcast and strided ones, and threading above a size threshold.
#pragma once

#include <cstdint>

#include "ember/array.h"
#include "ember/backend/common/strided.h"
#include "ember/backend/cpu/threadpool.h"

namespace ember::cpu {

/// Below this many elements a kernel runs on one thread.
inline constexpr int64_t kParallelGrain = 1 << 15;

/// out[i] = op(in[i]); out gets a fresh row-contiguous buffer.
template <typename In, typename Out, typename Op>
void unary_kernel(const array& in, array& out, Op op) {
  out.allocate_row_contiguous();
  const In* x = in.data<In>();
  Out* y = out.data<Out>();
  const int64_t n = in.size();
  if (in.flags().row_contiguous) {
    parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) y[i] = op(x[i]);
    });
    return;
  }
  auto L = detail::collapse<2>(in.shape(), {&in.strides(), &out.strides()});
  int64_t rows = detail::num_rows(L);
  int64_t row_len = L.shape.back();
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_len, 1)),
               [&](int64_t b, int64_t e) {
                 detail::for_each_row(L, b, e, [&](const auto& off, int64_t len, const auto& st) {
                   const In* xs = x + off[0];
                   Out* ys = y + off[1];
                   const int64_t sx = st[0];
                   for (int64_t i = 0; i < len; ++i) ys[i] = op(xs[i * sx]);
                 });
               });
}

/// out[i] = op(a[i], b[i]) for a, b of out's shape (broadcasts are 0 strides).
template <typename A, typename B, typename Out, typename Op>
void binary_kernel(const array& a, const array& b, array& out, Op op) {
  out.allocate_row_contiguous();
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  Out* y = out.data<Out>();
  const int64_t n = out.size();
  if (n == 0) return;
  if (a.flags().row_contiguous && b.flags().row_contiguous) {
    parallel_for(n, kParallelGrain, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) y[i] = op(pa[i], pb[i]);
    });
    return;
  }
  auto L = detail::collapse<3>(out.shape(), {&a.strides(), &b.strides(), &out.strides()});
  int64_t rows = detail::num_rows(L);
  int64_t row_len = L.shape.back();
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_len, 1)),
               [&](int64_t s, int64_t e) {
                 detail::for_each_row(L, s, e, [&](const auto& off, int64_t len, const auto& st) {
                   const A* xa = pa + off[0];
                   const B* xb = pb + off[1];
                   Out* ys = y + off[2];
                   // Specialized strides let the compiler vectorize the common cases.
                   if (st[0] == 1 && st[1] == 1) {
                     for (int64_t i = 0; i < len; ++i) ys[i] = op(xa[i], xb[i]);
                   } else if (st[0] == 1 && st[1] == 0) {
                     const B vb = *xb;
                     for (int64_t i = 0; i < len; ++i) ys[i] = op(xa[i], vb);
                   } else if (st[0] == 0 && st[1] == 1) {
                     const A va = *xa;
                     for (int64_t i = 0; i < len; ++i) ys[i] = op(va, xb[i]);
                   } else {
                     for (int64_t i = 0; i < len; ++i) ys[i] = op(xa[i * st[0]], xb[i * st[1]]);
                   }
                 });
               });
}

/// out[i] = op(a[i], b[i], c[i]) (used by where and clip).
template <typename A, typename B, typename C, typename Out, typename Op>
void ternary_kernel(const array& a, const array& b, const array& c, array& out, Op op) {
  out.allocate_row_contiguous();
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  const C* pc = c.data<C>();
  Out* y = out.data<Out>();
  if (out.size() == 0) return;
  auto L = detail::collapse<4>(out.shape(),
                               {&a.strides(), &b.strides(), &c.strides(), &out.strides()});
  int64_t rows = detail::num_rows(L);
  int64_t row_len = L.shape.back();
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_len, 1)),
               [&](int64_t s, int64_t e) {
                 detail::for_each_row(L, s, e, [&](const auto& off, int64_t len, const auto& st) {
                   for (int64_t i = 0; i < len; ++i) {
                     y[off[3] + i] = op(pa[off[0] + i * st[0]], pb[off[1] + i * st[1]],
                                        pc[off[2] + i * st[2]]);
                   }
                 });
               });
}

}  // namespace ember::cpu
