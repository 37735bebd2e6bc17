// The float32 loops behind simd.h, written as plain loops the compiler vectorizes for
// whatever instruction set the including file is built with. Included only by simd*.cpp, each
// with its own EMBER_SIMD_NS. Nothing here may use an out-of-line library template: its copy
// built with -mavx512f could be the one the linker keeps for the whole library.
#pragma once

#include "ember/backend/cpu/simd.h"
#include "ember/backend/cpu/simd_math.h"

namespace ember::cpu::EMBER_SIMD_NS {
namespace {

#define EMBER_SIMD_UNARY(name, expr)                                          \
  void name(const float* __restrict x, float* __restrict y, int64_t n) {      \
    for (int64_t i = 0; i < n; ++i) {                                         \
      const float v = x[i];                                                   \
      y[i] = (expr);                                                          \
    }                                                                         \
  }

EMBER_SIMD_UNARY(exp_k, exp_f(v))
EMBER_SIMD_UNARY(log_k, log_f(v))
EMBER_SIMD_UNARY(tanh_k, tanh_f(v))
EMBER_SIMD_UNARY(sigmoid_k, sigmoid_f(v))
EMBER_SIMD_UNARY(erf_k, erf_f(v))
EMBER_SIMD_UNARY(abs_k, abs_f(v))
EMBER_SIMD_UNARY(negative_k, -v)
EMBER_SIMD_UNARY(square_k, v * v)
EMBER_SIMD_UNARY(sqrt_k, __builtin_sqrtf(v))  // one instruction with -fno-math-errno
EMBER_SIMD_UNARY(reciprocal_k, 1.0f / v)
EMBER_SIMD_UNARY(sin_fast, sincos_f(v, 0))
EMBER_SIMD_UNARY(cos_fast, sincos_f(v, 1))
#undef EMBER_SIMD_UNARY

// sin and cos: blocks holding an |x| > kTrigMax (or NaN) go to the C library, whose
// reduction is exact for every float; the others take the vector path.
template <bool kCos>
void trig_k(const float* x, float* y, int64_t n) {
  constexpr int64_t kBlock = 256;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = n - b < kBlock ? n - b : kBlock;
    int any_big = 0;
    for (int64_t i = 0; i < m; ++i) any_big |= !(abs_f(x[b + i]) <= kTrigMax);
    if (!any_big) {
      (kCos ? cos_fast : sin_fast)(x + b, y + b, m);
    } else {
      for (int64_t i = 0; i < m; ++i) {
        y[b + i] = kCos ? __builtin_cosf(x[b + i]) : __builtin_sinf(x[b + i]);
      }
    }
  }
}

void half_to_float_k(const uint16_t* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = half_to_float(x[i]);
}
void float_to_half_k(const float* __restrict x, uint16_t* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = float_to_half(x[i]);
}
void bf16_to_float_k(const uint16_t* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_float(x[i]);
}
void float_to_bf16_k(const float* __restrict x, uint16_t* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = float_to_bf16(x[i]);
}

#define EMBER_SIMD_BINARY(name, expr)                                                         \
  void name##_vv(const float* __restrict a, const float* __restrict b, float* __restrict y, \
                 int64_t n) {                                                                \
    for (int64_t i = 0; i < n; ++i) {                                                        \
      const float u = a[i], v = b[i];                                                        \
      y[i] = (expr);                                                                         \
    }                                                                                        \
  }                                                                                          \
  void name##_vs(const float* __restrict a, const float* __restrict b, float* __restrict y, \
                 int64_t n) {                                                                \
    const float v = b[0];                                                                    \
    for (int64_t i = 0; i < n; ++i) {                                                        \
      const float u = a[i];                                                                  \
      y[i] = (expr);                                                                         \
    }                                                                                        \
  }                                                                                          \
  void name##_sv(const float* __restrict a, const float* __restrict b, float* __restrict y, \
                 int64_t n) {                                                                \
    const float u = a[0];                                                                    \
    for (int64_t i = 0; i < n; ++i) {                                                        \
      const float v = b[i];                                                                  \
      y[i] = (expr);                                                                         \
    }                                                                                        \
  }

EMBER_SIMD_BINARY(add, u + v)
EMBER_SIMD_BINARY(subtract, u - v)
EMBER_SIMD_BINARY(multiply, u * v)
EMBER_SIMD_BINARY(divide, u / v)
// NaN in either operand gives NaN, as in the scalar functors.
EMBER_SIMD_BINARY(maximum, (u > v || u != u) ? u : v)
EMBER_SIMD_BINARY(minimum, (u < v || u != u) ? u : v)
#undef EMBER_SIMD_BINARY

}  // namespace

inline void fill(simd::Table& t, const char* isa) {
  using simd::Binary;
  using simd::Layout;
  using simd::Unary;
  t.isa = isa;
  auto u = [&](Unary op, simd::UnaryFn f) { t.unary[int(op)] = f; };
  u(Unary::Exp, exp_k);
  u(Unary::Log, log_k);
  u(Unary::Tanh, tanh_k);
  u(Unary::Sigmoid, sigmoid_k);
  u(Unary::Erf, erf_k);
  u(Unary::Sin, trig_k<false>);
  u(Unary::Cos, trig_k<true>);
  u(Unary::Abs, abs_k);
  u(Unary::Negative, negative_k);
  u(Unary::Square, square_k);
  u(Unary::Sqrt, sqrt_k);
  u(Unary::Reciprocal, reciprocal_k);
  auto b = [&](Binary op, simd::BinaryFn vv, simd::BinaryFn vs, simd::BinaryFn sv) {
    t.binary[int(op)][int(Layout::VV)] = vv;
    t.binary[int(op)][int(Layout::VS)] = vs;
    t.binary[int(op)][int(Layout::SV)] = sv;
  };
  b(Binary::Add, add_vv, add_vs, add_sv);
  b(Binary::Subtract, subtract_vv, subtract_vs, subtract_sv);
  b(Binary::Multiply, multiply_vv, multiply_vs, multiply_sv);
  b(Binary::Divide, divide_vv, divide_vs, divide_sv);
  b(Binary::Maximum, maximum_vv, maximum_vs, maximum_sv);
  b(Binary::Minimum, minimum_vv, minimum_vs, minimum_sv);
  t.half_to_float = half_to_float_k;
  t.float_to_half = float_to_half_k;
  t.bf16_to_float = bf16_to_float_k;
  t.float_to_bf16 = float_to_bf16_k;
}

}  // namespace ember::cpu::EMBER_SIMD_NS
