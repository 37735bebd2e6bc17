// float16_t and bfloat16_t: 16-bit storage types that compute through float.
// Portable bit conversions (round to nearest even) so the library needs no
// compiler support for _Float16 / __bf16 and runs on any x86-64 or arm64 CPU.
#pragma once

#include <cstdint>
#include <cstring>
#include <complex>

namespace ember {

namespace detail {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t float_to_half_bits(float f) {
  uint32_t x = float_bits(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) {  // inf or nan
    return uint16_t(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u));
  }
  if (ax >= 0x477ff000u) {  // rounds to >= 65520: overflow to inf
    return uint16_t(sign | 0x7c00u);
  }
  if (ax < 0x38800000u) {  // subnormal half (or zero): let float addition round
    float v = bits_float(ax) + 0.5f;  // 0.5 = 2^-1 aligns the half subnormal ulp
    return uint16_t(sign | (float_bits(v) - 0x3f000000u));
  }
  uint32_t mant_odd = (ax >> 13) & 1u;
  ax += 0xc8000fffu + mant_odd;  // rebias exponent (-112 << 23) and round to even
  return uint16_t(sign | (ax >> 13));
}

inline float half_bits_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) {
    return bits_float(sign | 0x7f800000u | (mant << 13));
  }
  if (exp == 0) {  // zero or subnormal: mant * 2^-24
    float v = float(mant) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bits_float(sign | ((exp + 112) << 23) | (mant << 13));
}

inline uint16_t float_to_bf16_bits(float f) {
  uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) {
    return uint16_t((x >> 16) | 0x40u);  // quiet nan
  }
  x += 0x7fffu + ((x >> 16) & 1u);  // round to nearest even
  return uint16_t(x >> 16);
}

inline float bf16_bits_to_float(uint16_t b) {
  return bits_float(uint32_t(b) << 16);
}

}  // namespace detail

struct float16_t {
  uint16_t bits;
  float16_t() = default;
  float16_t(float f) : bits(detail::float_to_half_bits(f)) {}
  float16_t(double d) : float16_t(float(d)) {}
  template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
  float16_t(T v) : float16_t(float(v)) {}
  operator float() const { return detail::half_bits_to_float(bits); }
  static float16_t from_bits(uint16_t b) {
    float16_t h;
    h.bits = b;
    return h;
  }
};

struct bfloat16_t {
  uint16_t bits;
  bfloat16_t() = default;
  bfloat16_t(float f) : bits(detail::float_to_bf16_bits(f)) {}
  bfloat16_t(double d) : bfloat16_t(float(d)) {}
  template <typename T, typename = std::enable_if_t<std::is_integral_v<T>>>
  bfloat16_t(T v) : bfloat16_t(float(v)) {}
  operator float() const { return detail::bf16_bits_to_float(bits); }
  static bfloat16_t from_bits(uint16_t b) {
    bfloat16_t h;
    h.bits = b;
    return h;
  }
};

using complex64_t = std::complex<float>;

}  // namespace ember
