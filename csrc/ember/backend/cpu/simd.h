// Vectorized float32 loops for the hottest elementwise ops, built once per instruction set
// (simd.cpp: the baseline; simd_avx2.cpp, simd_avx512.cpp on x86-64) and chosen at run time.
#pragma once

#include <cstdint>

namespace ember::cpu::simd {

enum class Unary : int {
  Exp, Log, Tanh, Sigmoid, Erf, Sin, Cos,
  Abs, Negative, Square, Sqrt, Reciprocal,
  Count
};
enum class Binary : int { Add, Subtract, Multiply, Divide, Maximum, Minimum, Count };
/// Operand layouts of a binary run: both arrays, b a scalar, a a scalar.
enum class Layout : int { VV, VS, SV, Count };

/// y[i] = f(x[i]) for i < n. y may equal x (in place), but no other overlap.
using UnaryFn = void (*)(const float* x, float* y, int64_t n);
/// y[i] = f(a[i], b[i]) (a scalar operand is read at index 0). y may equal a or b.
using BinaryFn = void (*)(const float* a, const float* b, float* y, int64_t n);

/// 16-bit float bits <-> float, for running the float kernels on float16 / bfloat16 blocks.
using ToFloatFn = void (*)(const uint16_t* x, float* y, int64_t n);
using FromFloatFn = void (*)(const float* x, uint16_t* y, int64_t n);

struct Table {
  const char* isa = "none";
  UnaryFn unary[int(Unary::Count)] = {};
  BinaryFn binary[int(Binary::Count)][int(Layout::Count)] = {};
  ToFloatFn half_to_float = nullptr, bf16_to_float = nullptr;
  FromFloatFn float_to_half = nullptr, float_to_bf16 = nullptr;
};

/// The table for the widest instruction set this CPU supports. EMBER_SIMD=base|avx2|avx512
/// (read once, at first use) forces a narrower one, for tests and comparisons.
const Table& table();

inline UnaryFn unary_fn(Unary op) { return table().unary[int(op)]; }
inline BinaryFn binary_fn(Binary op, Layout l) { return table().binary[int(op)][int(l)]; }

// Each translation unit fills a table with its own build of simd_kernels.h.
void fill_base(Table& t);
bool fill_avx2(Table& t);    // false when not built for x86-64
bool fill_avx512(Table& t);  // false when not built for x86-64

}  // namespace ember::cpu::simd
