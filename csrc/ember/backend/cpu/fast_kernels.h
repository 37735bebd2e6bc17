// Pieces the fast kernels share (backend/cpu/fast.cpp, fast_attention.cpp): dispatch over
// the float dtypes with their accumulation type, rows converted to and from that type,
// vectorizable reductions, and a small register-tiled matrix product for blocks that
// live in cache (built per instruction set, chosen at run time like simd.h's kernels).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "ember/backend/cpu/simd.h"
#include "ember/backend/cpu/simd_half.h"
#include "ember/dtype.h"
#include "ember/errors.h"

namespace ember::cpu::fast {

/// float32 for float32 / float16 / bfloat16 data, float64 for float64.
template <typename T>
using acc_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

/// Calls f(T{}) for the float dtype t (T = float, double, float16_t, bfloat16_t).
template <typename F>
void dispatch_float(const char* op, Dtype t, F&& f) {
  switch (t) {
    case Dtype::float32: f(float{}); break;
    case Dtype::float64: f(double{}); break;
    case Dtype::float16: f(float16_t{}); break;
    case Dtype::bfloat16: f(bfloat16_t{}); break;
    default: throw std::invalid_argument(msg("[", op, "] No kernel for dtype ", dtype_name(t), "."));
  }
}

/// y[0:n] = x[0:n] converted to the accumulation type (vectorized for 16-bit floats).
template <typename T, typename A>
inline void load_row(const T* x, A* y, int64_t n) {
  if constexpr (std::is_same_v<T, A>) {
    std::memcpy(y, x, size_t(n) * sizeof(A));
  } else if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    simd::HalfConvert<T>{}.load(x, y, n);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = A(x[i]);
  }
}

/// y[0:n] = x[0:n] rounded to T.
template <typename T, typename A>
inline void store_row(const A* x, T* y, int64_t n) {
  if constexpr (std::is_same_v<T, A>) {
    std::memcpy(y, x, size_t(n) * sizeof(A));
  } else if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    simd::HalfConvert<T>{}.store(x, y, n);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = T(x[i]);
  }
}

// Reductions with 16 independent partial sums: the compiler vectorizes the inner loop
// (a single running sum would be a serial chain it may not reorder).
template <typename A>
inline A sum_of(const A* x, int64_t n) {
  A acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int j = 0; j < 16; ++j) acc[j] += x[i + j];
  }
  A s = 0;
  for (int j = 0; j < 16; ++j) s += acc[j];
  for (; i < n; ++i) s += x[i];
  return s;
}

template <typename A>
inline A dot_of(const A* x, const A* y, int64_t n) {
  A acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int j = 0; j < 16; ++j) acc[j] += x[i + j] * y[i + j];
  }
  A s = 0;
  for (int j = 0; j < 16; ++j) s += acc[j];
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}

// (a < b ? b : a) is what maxps computes, NaN cases included, so 16 partial maxima vectorize
// without fast-math.
template <typename A>
inline A max_of(const A* x, int64_t n) {
  A acc[16];
  for (int j = 0; j < 16; ++j) acc[j] = -std::numeric_limits<A>::infinity();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int j = 0; j < 16; ++j) acc[j] = acc[j] < x[i + j] ? x[i + j] : acc[j];
  }
  A m = -std::numeric_limits<A>::infinity();
  for (int j = 0; j < 16; ++j) m = m < acc[j] ? acc[j] : m;
  for (; i < n; ++i) m = m < x[i] ? x[i] : m;
  return m;
}

/// y[i] = exp(x[i]) (y may be x): the SIMD table's exp for float, std::exp for double.
inline void exp_inplace(float* x, int64_t n) { simd::unary_fn(simd::Unary::Exp)(x, x, n); }
inline void exp_inplace(double* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}

/// C (m x n) = op(A) (m x k) @ B (k x n) (+ C when accumulate), op(A) = A, or A^T when
/// trans_a (A stored k x m); all row-major with the given leading dimensions, float32 or
/// float64. For cache-resident blocks (attention tiles): no packing, a register tile per
/// instruction set.
void block_matmul(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float* c, int64_t ldc, bool accumulate, bool trans_a = false);
void block_matmul(int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b,
                  int64_t ldb, double* c, int64_t ldc, bool accumulate, bool trans_a = false);

}  // namespace ember::cpu::fast
