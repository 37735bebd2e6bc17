// Elementwise kernel templates shared by the unary, binary and ternary families: flat loops
// for dense operands (vectorized runs from simd.h where the op has one), stride-specialized
// inner loops for broadcast and strided ones, and threading above a size threshold.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ember/array.h"
#include "ember/backend/common/strided.h"
#include "ember/backend/cpu/threadpool.h"

namespace ember::cpu {

/// Kernels split across threads above `grain` elements (chunks of at least grain / 2), so a
/// chunk takes ~5 us or more and waking a worker pays (bench/RESULTS.md, "Thresholds").
/// Ops that cost about a memory access per element gain only once the data leave L2:
inline constexpr int64_t kParallelGrain = 1 << 17;
/// Ops ~10x costlier per element (exp, tanh, erf, ... on float32):
inline constexpr int64_t kParallelGrainCostly = 1 << 14;
/// Ops that call the C library per element (float64 tanh, pow, ...):
inline constexpr int64_t kParallelGrainLibm = 1 << 12;

/// A vectorized loop for contiguous runs (simd.h), or null to use the functor.
template <typename In, typename Out>
using UnaryRun = void (*)(const In*, Out*, int64_t);
template <typename A, typename B, typename Out>
using BinaryRun = void (*)(const A*, const B*, Out*, int64_t);
/// Runs for the three layouts of a binary op's inner loop: both strided by 1 (vv), b fixed
/// (vs), a fixed (sv). Each is a function pointer (null: none) or a callable.
template <typename VV, typename VS = VV, typename SV = VV>
struct BinaryRuns {
  VV vv = nullptr;
  VS vs = nullptr;
  SV sv = nullptr;
};

/// Whether a run was given: a non-null function pointer, or any other callable.
template <typename R>
bool run_given(const R& r) {
  if constexpr (std::is_null_pointer_v<R>) return false;
  else if constexpr (std::is_pointer_v<R>) return r != nullptr;
  else return true;
}

/// Gives out a fresh buffer laid out like `like` when that is dense in some order (e.g. a
/// transposed array): an elementwise op then runs one flat loop over memory in both. Otherwise
/// (and when `like` is row-contiguous) the buffer is row-contiguous. Returns whether out
/// matches like's layout.
inline bool allocate_like(array& out, const array& like) {
  out.allocate_row_contiguous();
  const Flags& f = like.flags();
  if (f.row_contiguous) return true;
  if (!f.contiguous) return false;
  out.set_view(out, like.strides(), 0);  // same buffer, like's (dense) strides
  return true;
}

/// Elements gathered per block when a strided input feeds a vectorized run.
inline constexpr int64_t kGatherBlock = 256;

/// out[i] = op(in[i]). `run`, when given, computes contiguous stretches instead of op (a
/// strided input is gathered into blocks for it). `grain`: see kParallelGrain.
template <typename In, typename Out, typename Op, typename Run = std::nullptr_t>
void unary_kernel(const array& in, array& out, Op op, Run run = nullptr,
                  int64_t grain = kParallelGrain) {
  const int64_t n = in.size();
  const bool flat = allocate_like(out, in);
  const In* x = in.data<In>();
  Out* y = out.data<Out>();
  if (n == 0) return;
  const bool use_run = run_given(run);
  if (flat) {
    parallel_for(n, grain, [&](int64_t b, int64_t e) {
      if constexpr (!std::is_null_pointer_v<Run>) {
        if (use_run) return run(x + b, y + b, e - b);
      }
      for (int64_t i = b; i < e; ++i) y[i] = op(x[i]);
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
                   if constexpr (!std::is_null_pointer_v<Run>) {
                     if (use_run && sx == 1) return run(xs, ys, len);
                     if (use_run && len >= 16) {
                       In buf[kGatherBlock];
                       for (int64_t s = 0; s < len; s += kGatherBlock) {
                         const int64_t m = std::min(kGatherBlock, len - s);
                         for (int64_t i = 0; i < m; ++i) buf[i] = xs[(s + i) * sx];
                         run(buf, ys + s, m);
                       }
                       return;
                     }
                   }
                   for (int64_t i = 0; i < len; ++i) ys[i] = op(xs[i * sx]);
                 });
               });
}

/// out[i] = op(a[i], b[i]) for a, b of out's shape (broadcasts are 0 strides). `runs`, when
/// given, compute the inner loops of their layouts instead of op. The output is
/// row-contiguous unless both operands share another dense layout.
template <typename A, typename B, typename Out, typename Op,
          typename Runs = BinaryRuns<std::nullptr_t>>
void binary_kernel(const array& a, const array& b, array& out, Op op, Runs runs = {},
                   int64_t grain = kParallelGrain) {
  // Both operands dense in the same order (e.g. both transposed): one flat loop, and the
  // output takes their layout.
  const bool flat = a.flags().contiguous && b.flags().contiguous &&
                    (a.flags().row_contiguous ? b.flags().row_contiguous
                                              : a.strides() == b.strides()) &&
                    a.shape() == out.shape() && b.shape() == out.shape();
  if (flat) {
    allocate_like(out, a);
  } else {
    out.allocate_row_contiguous();
  }
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  Out* y = out.data<Out>();
  const int64_t n = out.size();
  if (n == 0) return;
  const bool has_vv = run_given(runs.vv);
  if (flat) {
    parallel_for(n, grain, [&](int64_t s, int64_t e) {
      if constexpr (!std::is_null_pointer_v<decltype(runs.vv)>) {
        if (has_vv) return runs.vv(pa + s, pb + s, y + s, e - s);
      }
      for (int64_t i = s; i < e; ++i) y[i] = op(pa[i], pb[i]);
    });
    return;
  }
  auto L = detail::collapse<3>(out.shape(), {&a.strides(), &b.strides(), &out.strides()});
  int64_t rows = detail::num_rows(L);
  int64_t row_len = L.shape.back();
  // A row too short to pay for a call goes through the functor.
  const bool use_vv = has_vv && row_len >= 16;
  const bool use_vs = run_given(runs.vs) && row_len >= 16;
  const bool use_sv = run_given(runs.sv) && row_len >= 16;
  parallel_for(rows, std::max<int64_t>(1, grain / std::max<int64_t>(row_len, 1)),
               [&](int64_t s, int64_t e) {
                 detail::for_each_row(L, s, e, [&](const auto& off, int64_t len, const auto& st) {
                   const A* xa = pa + off[0];
                   const B* xb = pb + off[1];
                   Out* ys = y + off[2];
                   // Specialized strides let the compiler vectorize the common cases.
                   if (st[0] == 1 && st[1] == 1) {
                     if constexpr (!std::is_null_pointer_v<decltype(runs.vv)>) {
                       if (use_vv) return runs.vv(xa, xb, ys, len);
                     }
                     for (int64_t i = 0; i < len; ++i) ys[i] = op(xa[i], xb[i]);
                   } else if (st[0] == 1 && st[1] == 0) {
                     if constexpr (!std::is_null_pointer_v<decltype(runs.vs)>) {
                       if (use_vs) return runs.vs(xa, xb, ys, len);
                     }
                     const B vb = *xb;
                     for (int64_t i = 0; i < len; ++i) ys[i] = op(xa[i], vb);
                   } else if (st[0] == 0 && st[1] == 1) {
                     if constexpr (!std::is_null_pointer_v<decltype(runs.sv)>) {
                       if (use_sv) return runs.sv(xa, xb, ys, len);
                     }
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
