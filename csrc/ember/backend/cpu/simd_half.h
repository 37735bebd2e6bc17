// Runs the float32 SIMD kernels (simd.h) on float16 / bfloat16 data: blocks are converted to
// float in a stack buffer, computed, and rounded back, all with vectorized loops.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "ember/backend/cpu/simd.h"
#include "ember/dtype.h"

namespace ember::cpu::simd {

inline constexpr int64_t kHalfBlock = 512;  // 2 KiB of float per operand: stays in L1

template <typename H>
struct HalfConvert {
  static_assert(std::is_same_v<H, float16_t> || std::is_same_v<H, bfloat16_t>);
  static constexpr bool kIsHalf = std::is_same_v<H, float16_t>;
  ToFloatFn to = kIsHalf ? table().half_to_float : table().bf16_to_float;
  FromFloatFn from = kIsHalf ? table().float_to_half : table().float_to_bf16;

  void load(const H* x, float* y, int64_t n) const {
    to(reinterpret_cast<const uint16_t*>(x), y, n);
  }
  void store(const float* x, H* y, int64_t n) const {
    from(x, reinterpret_cast<uint16_t*>(y), n);
  }
};

/// y = f(x) on 16-bit floats through the float kernel f.
template <typename H>
struct HalfUnary {
  UnaryFn f;
  HalfConvert<H> cvt{};

  void operator()(const H* x, H* y, int64_t n) const {
    alignas(64) float buf[kHalfBlock];
    for (int64_t b = 0; b < n; b += kHalfBlock) {
      const int64_t m = std::min(kHalfBlock, n - b);
      cvt.load(x + b, buf, m);
      f(buf, buf, m);
      cvt.store(buf, y + b, m);
    }
  }
};

/// y = f(a, b) on 16-bit floats through the float kernel f of the given layout.
template <typename H>
struct HalfBinary {
  BinaryFn f;
  Layout layout;
  HalfConvert<H> cvt{};

  void operator()(const H* a, const H* b, H* y, int64_t n) const {
    alignas(64) float fa[kHalfBlock], fb[kHalfBlock];
    if (layout == Layout::VS) cvt.load(b, fb, 1);
    if (layout == Layout::SV) cvt.load(a, fa, 1);
    for (int64_t s = 0; s < n; s += kHalfBlock) {
      const int64_t m = std::min(kHalfBlock, n - s);
      if (layout != Layout::SV) cvt.load(a + s, fa, m);
      if (layout != Layout::VS) cvt.load(b + s, fb, m);
      f(fa, fb, layout == Layout::SV ? fb : fa, m);
      cvt.store(layout == Layout::SV ? fb : fa, y + s, m);
    }
  }
};

}  // namespace ember::cpu::simd
