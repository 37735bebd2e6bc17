// Elementwise kernel templates shared by the unary, binary and ternary
// families: flat loops for contiguous operands, stride-specialized inner loops
// for broadcast and strided ones, and threading above a size threshold.
#pragma once

#include <algorithm>
#include <cstdint>

#include "ember/array.h"
#include "ember/backend/common/strided.h"
#include "ember/backend/cpu/threadpool.h"

namespace ember::cpu {

/// Elements per thread at least, for ops that cost about a memory access per element: a chunk
/// should take ~10 us or more, so waking a worker (up to a few us when it sleeps) pays.
inline constexpr int64_t kParallelGrain = 1 << 17;
/// The same for ops that cost ~10x more per element (exp, tanh, erf, ... on float32).
inline constexpr int64_t kParallelGrainCostly = 1 << 14;
/// The same for ops that call the C library per element (float64 tanh, pow, ...).
inline constexpr int64_t kParallelGrainLibm = 1 << 12;

/// A vectorized loop for contiguous runs (simd.h), or null to use the functor.
template <typename In, typename Out>
using UnaryRun = void (*)(const In*, Out*, int64_t);
template <typename A, typename B, typename Out>
using BinaryRun = void (*)(const A*, const B*, Out*, int64_t);
/// Runs for the three layouts of a binary op's inner loop: both strided by 1 (vv), b fixed
/// (vs), a fixed (sv). Any may be null.
template <typename A, typename B, typename Out>
struct BinaryRuns {
  BinaryRun<A, B, Out> vv = nullptr, vs = nullptr, sv = nullptr;
};

/// out[i] = op(in[i]); out gets a fresh row-contiguous buffer. `run`, when given, computes
/// contiguous stretches instead of op. `grain`: elements per thread at least.
template <typename In, typename Out, typename Op>
void unary_kernel(const array& in, array& out, Op op, UnaryRun<In, Out> run = nullptr,
                  int64_t grain = kParallelGrain) {
  out.allocate_row_contiguous();
  const In* x = in.data<In>();
  Out* y = out.data<Out>();
  const int64_t n = in.size();
  if (n == 0) return;
  if (in.flags().row_contiguous) {
    parallel_for(n, grain, [&](int64_t b, int64_t e) {
      if (run) {
        run(x + b, y + b, e - b);
      } else {
        for (int64_t i = b; i < e; ++i) y[i] = op(x[i]);
      }
    });
    return;
  }
  auto L = detail::collapse<2>(in.shape(), {&in.strides(), &out.strides()});
  int64_t rows = detail::num_rows(L);
  int64_t row_len = L.shape.back();
  parallel_for(rows, std::max<int64_t>(1, grain / std::max<int64_t>(row_len, 1)),
               [&](int64_t b, int64_t e) {
                 detail::for_each_row(L, b, e, [&](const auto& off, int64_t len, const auto& st) {
                   const In* xs = x + off[0];
                   Out* ys = y + off[1];
                   const int64_t sx = st[0];
                   if (sx == 1) {
                     if (run) run(xs, ys, len);
                     else for (int64_t i = 0; i < len; ++i) ys[i] = op(xs[i]);
                   } else {
                     for (int64_t i = 0; i < len; ++i) ys[i] = op(xs[i * sx]);
                   }
                 });
               });
}

/// out[i] = op(a[i], b[i]) for a, b of out's shape (broadcasts are 0 strides). `runs`, when
/// given, compute the inner loops of their layouts instead of op.
template <typename A, typename B, typename Out, typename Op>
void binary_kernel(const array& a, const array& b, array& out, Op op,
                   BinaryRuns<A, B, Out> runs = {}, int64_t grain = kParallelGrain) {
  out.allocate_row_contiguous();
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  Out* y = out.data<Out>();
  const int64_t n = out.size();
  if (n == 0) return;
  if (a.flags().row_contiguous && b.flags().row_contiguous) {
    parallel_for(n, grain, [&](int64_t s, int64_t e) {
      if (runs.vv) {
        runs.vv(pa + s, pb + s, y + s, e - s);
      } else {
        for (int64_t i = s; i < e; ++i) y[i] = op(pa[i], pb[i]);
      }
    });
    return;
  }
  auto L = detail::collapse<3>(out.shape(), {&a.strides(), &b.strides(), &out.strides()});
  int64_t rows = detail::num_rows(L);
  int64_t row_len = L.shape.back();
  // A row too short to pay for a call goes through the functor.
  const bool use_runs = row_len >= 16;
  parallel_for(rows, std::max<int64_t>(1, grain / std::max<int64_t>(row_len, 1)),
               [&](int64_t s, int64_t e) {
                 detail::for_each_row(L, s, e, [&](const auto& off, int64_t len, const auto& st) {
                   const A* xa = pa + off[0];
                   const B* xb = pb + off[1];
                   Out* ys = y + off[2];
                   // Specialized strides let the compiler vectorize the common cases.
                   if (st[0] == 1 && st[1] == 1) {
                     if (use_runs && runs.vv) runs.vv(xa, xb, ys, len);
                     else for (int64_t i = 0; i < len; ++i) ys[i] = op(xa[i], xb[i]);
                   } else if (st[0] == 1 && st[1] == 0) {
                     if (use_runs && runs.vs) {
                       runs.vs(xa, xb, ys, len);
                     } else {
                       const B vb = *xb;
                       for (int64_t i = 0; i < len; ++i) ys[i] = op(xa[i], vb);
                     }
                   } else if (st[0] == 0 && st[1] == 1) {
                     if (use_runs && runs.sv) {
                       runs.sv(xa, xb, ys, len);
                     } else {
                       const A va = *xa;
                       for (int64_t i = 0; i < len; ++i) ys[i] = op(va, xb[i]);
                     }
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
