// Branch-free float32 exp, log, tanh, sigmoid, erf, sin and cos that compilers vectorize (range
// reduction + minimax polynomials fitted for ember; see bench/tools/fit_poly.py), within 1-2.4
// ulp (bench/RESULTS.md), and float16 / bfloat16 <-> float conversions.
// Included once per instruction set (simd_kernels.h): EMBER_SIMD_NS names the namespace, so the
// copies built with -mavx2 or -mavx512f never merge with the baseline ones at link time.
#pragma once

#include <cstdint>

#ifndef EMBER_SIMD_NS
#error "define EMBER_SIMD_NS (the instruction-set namespace) before including simd_math.h"
#endif

#if defined(__GNUC__)
#define EMBER_SIMD_INLINE inline __attribute__((always_inline))
#else
#define EMBER_SIMD_INLINE inline
#endif

namespace ember::cpu::EMBER_SIMD_NS {

// Every function is written as straight-line code with selects (`c ? a : b` on values that
// are all computed), so a loop calling it vectorizes: no calls, no branches, no tables.

EMBER_SIMD_INLINE int32_t as_int(float x) { return __builtin_bit_cast(int32_t, x); }
EMBER_SIMD_INLINE float as_float(int32_t i) { return __builtin_bit_cast(float, i); }
EMBER_SIMD_INLINE float abs_f(float x) { return as_float(as_int(x) & 0x7fffffff); }
/// |mag| with the sign of sgn.
EMBER_SIMD_INLINE float copysign_f(float mag, float sgn) {
  return as_float((as_int(mag) & 0x7fffffff) | (as_int(sgn) & int32_t(0x80000000u)));
}

// Adding then subtracting 1.5 * 2^23 rounds a float of magnitude < 2^22 to the nearest
// integer (ties to even), and leaves that integer in the low mantissa bits of the sum.
inline constexpr float kShifter = 0x1.8p23f;

/// e^x. x = n ln2 + r with |r| <= ln2/2; e^r by a degree-6 polynomial; then 2^n is applied as
/// two factors so results in the subnormal range round once and overflow gives inf.
EMBER_SIMD_INLINE float exp_f(float x) {
  // Clamp (NaN passes through: both comparisons are false).
  x = x > 89.0f ? 89.0f : x;
  x = x < -104.0f ? -104.0f : x;
  const float z = x * 0x1.715476p+0f + kShifter;  // x log2(e) + shifter
  const float n = z - kShifter;
  // ln2 = 0x1.62e4p-1 + 0x1.7f7d1cp-20; the first has 15 significant bits: n times it is exact.
  const float r = (x - n * 0x1.62e4p-1f) - n * 0x1.7f7d1cp-20f;
  float p = 0x1.6a243ap-10f;
  p = p * r + 0x1.1239e0p-7f;
  p = p * r + 0x1.5558f2p-5f;
  p = p * r + 0x1.555492p-3f;
  p = p * r + 0x1.fffffcp-2f;
  p = (p * r) * r + r + 1.0f;
  const int32_t ni = as_int(z) - as_int(kShifter);  // n in [-150, 129]
  const int32_t n1 = ni >> 1, n2 = ni - n1;        // each in [-75, 65]: normal powers of 2
  return (p * as_float((n1 + 127) << 23)) * as_float((n2 + 127) << 23);
}

/// e^x for x in [-87, 88] (the caller clamps): normal results only, so 2^n is one factor.
EMBER_SIMD_INLINE float exp_normal_f(float x) {
  const float z = x * 0x1.715476p+0f + kShifter;
  const float n = z - kShifter;
  const float r = (x - n * 0x1.62e4p-1f) - n * 0x1.7f7d1cp-20f;
  float p = 0x1.6a243ap-10f;
  p = p * r + 0x1.1239e0p-7f;
  p = p * r + 0x1.5558f2p-5f;
  p = p * r + 0x1.555492p-3f;
  p = p * r + 0x1.fffffcp-2f;
  p = (p * r) * r + r + 1.0f;
  return p * as_float((as_int(z) - as_int(kShifter) + 127) << 23);
}

/// log x. x = 2^e m with m in [sqrt(1/2), sqrt(2)); log(1 + f), f = m - 1, by
/// f - f^2/2 + f^3 P(f) with P of degree 7.
EMBER_SIMD_INLINE float log_f(float x) {
  const bool sub = x < 0x1p-126f;  // subnormal (or <= 0, fixed below): scale into range
  const float xs = sub ? x * 0x1p23f : x;
  // The bit arithmetic is done in uint32 (it wraps for x < 0, whose result is replaced
  // below; in int32 that overflow was undefined behaviour, reported by UBSan).
  const uint32_t bits = uint32_t(as_int(xs));
  const int32_t t = int32_t(bits - 0x3f3504f3u);  // bits of sqrt(1/2)
  const int32_t e = t >> 23;
  const float m = as_float(int32_t(bits - (uint32_t(e) << 23)));
  const float f = m - 1.0f;  // exact
  const float ef = float(e) - (sub ? 23.0f : 0.0f);
  float p = -0x1.38b580p-4f;
  p = p * f + 0x1.055b6ap-3f;
  p = p * f - 0x1.0d8542p-3f;
  p = p * f + 0x1.22da1cp-3f;
  p = p * f - 0x1.547244p-3f;
  p = p * f + 0x1.99a008p-3f;
  p = p * f - 0x1.000226p-2f;
  p = p * f + 0x1.555554p-2f;
  const float f2 = f * f;
  const float lg = (f2 * f) * p - 0.5f * f2 + f;
  // e ln2 as a two-part constant: the high product is exact for |e| < 2^8.
  float res = ef * 0x1.62e4p-1f + (lg + ef * 0x1.7f7d1cp-20f);
  res = x > 0.0f ? res : (x == 0.0f ? -__builtin_inff() : __builtin_nanf(""));
  return x == __builtin_inff() ? x : res;
}

/// tanh x: an odd polynomial for |x| < 0.625, 1 - 2 / (e^{2|x|} + 1) above.
EMBER_SIMD_INLINE float tanh_f(float x) {
  const float ax = abs_f(x);
  const float x2 = ax * ax;
  float p = -0x1.75e1cep-8f;
  p = p * x2 + 0x1.52269cp-6f;
  p = p * x2 - 0x1.b83c5ap-5f;
  p = p * x2 + 0x1.110726p-3f;
  p = p * x2 - 0x1.555532p-2f;
  const float small = (ax * x2) * p + ax;
  // tanh rounds to 1 above 9.02, so e^{2|x|} is taken at 18 at most (NaN passes through).
  const float large = 1.0f - 2.0f / (exp_normal_f(2.0f * (ax > 9.5f ? 9.5f : ax)) + 1.0f);
  return copysign_f(ax < 0.625f ? small : large, x);
}

/// 1 / (1 + e^-x), from e^-|x| so that neither sign overflows or loses tiny results.
EMBER_SIMD_INLINE float sigmoid_f(float x) {
  const float e = exp_f(-abs_f(x));
  return (x >= 0.0f ? 1.0f : e) / (1.0f + e);  // e^x / (1 + e^x) below 0
}

/// erf x. Below 0.921875: x + x P(x^2), the polynomial a small correction. Above:
/// 1 - e^{Q(|x|) - x^2}, Q a fit of log(erfc(x)) + x^2 on [0.921875, 3.95] (erf rounds to 1
/// beyond); Q varies slowly, so its rounding barely shows in erf.
EMBER_SIMD_INLINE float erf_f(float x) {
  const float ax = abs_f(x);
  const float x2 = ax * ax;
  float p = 0x1.5f118ep-14f;
  p = p * x2 - 0x1.aae9a0p-11f;
  p = p * x2 + 0x1.54dadap-8f;
  p = p * x2 - 0x1.b8107cp-6f;
  p = p * x2 + 0x1.ce2e20p-4f;
  p = p * x2 - 0x1.812744p-2f;
  p = p * x2 + 0x1.06eba8p-3f;
  const float small = p * ax + ax;
  const float t = (ax > 3.95f ? 3.95f : ax) - 2.4359375f;
  float q = -0x1.624f48p-16f;
  q = q * t + 0x1.3905b0p-14f;
  q = q * t - 0x1.d7e69ap-12f;
  q = q * t + 0x1.2f6fd8p-9f;
  q = q * t - 0x1.7656b6p-7f;
  q = q * t + 0x1.dd2c36p-5f;
  q = q * t - 0x1.70a554p-2f;
  q = q * t - 0x1.88b37ap+0f;
  const float large = 1.0f - exp_normal_f(q - (ax > 3.95f ? 3.95f * 3.95f : x2));
  return copysign_f(ax < 0.921875f ? small : large, x);
}

/// float16 bits -> float (exact).
EMBER_SIMD_INLINE float half_to_float(uint16_t h) {
  const int32_t em = h & 0x7fff;
  const float normal = as_float((em << 13) + 0x38000000);  // rebias the exponent: 127 - 15
  const float infnan = as_float((em << 13) | 0x7f800000);
  const float sub = float(em) * 0x1p-24f;                   // zero and subnormals
  const float r = em >= 0x7c00 ? infnan : (em < 0x400 ? sub : normal);
  return as_float(as_int(r) | (int32_t(h & 0x8000) << 16));
}

/// float -> float16 bits, rounded to nearest even (the same bits as float16_t(float)).
EMBER_SIMD_INLINE uint16_t float_to_half(float f) {
  const int32_t x = as_int(f);
  const int32_t sign = (x >> 16) & 0x8000;
  const int32_t ax = x & 0x7fffffff;
  const int32_t infnan = 0x7c00 | (ax > 0x7f800000 ? 0x200 : 0);
  // Subnormal halves: adding 0.5 aligns the half's last bit with float's, and rounds.
  const int32_t sub = as_int(as_float(ax) + 0.5f) - 0x3f000000;
  // Normal: rebias the exponent (-112 << 23) and round to even on the 13 dropped bits.
  const int32_t normal = int32_t(uint32_t(ax + int32_t(0xc8000fff) + ((ax >> 13) & 1)) >> 13);
  const int32_t r = ax >= 0x7f800000 ? infnan
                    : ax >= 0x477ff000 ? 0x7c00
                    : ax < 0x38800000  ? sub
                                       : normal;
  return uint16_t(sign | r);
}

EMBER_SIMD_INLINE float bf16_to_float(uint16_t b) { return as_float(int32_t(uint32_t(b) << 16)); }

/// float -> bfloat16 bits, rounded to nearest even; NaN stays a (quiet) NaN.
EMBER_SIMD_INLINE uint16_t float_to_bf16(float f) {
  const uint32_t x = uint32_t(as_int(f));
  const uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
  return uint16_t((x & 0x7fffffffu) > 0x7f800000u ? (x >> 16) | 0x40u : rounded);
}

/// Above this |x|, sin and cos are redone with the C library: the 3-part reduction below
/// loses accuracy once n (the multiple of pi/2) has more than 12 bits.
inline constexpr float kTrigMax = 4096.0f;

/// sin x (quadrant 0) or cos x (quadrant 1). x = n pi/2 + r, |r| <= pi/4, then
/// sin r or cos r by quadrant, from odd and even polynomials.
EMBER_SIMD_INLINE float sincos_f(float x, int32_t quadrant) {
  const float z = x * 0x1.45f306p-1f + kShifter;  // x * 2/pi
  const float n = z - kShifter;
  // pi/2 = C1 - C2 - C3 with 12, 12 and 24 bits: n * (first two) is exact for |n| < 2^12, so
  // x - n C1 is exact; the rounding error of adding n C2 is kept (TwoSum) and added back with
  // n C3. (Arguments within ~1e-7 of a multiple of pi still see up to 2.2 ulp.)
  const float ra = x - n * 0x1.922p+0f;
  const float rb = n * 0x1.2aep-18f;
  const float rs = ra + rb;
  const float rv = rs - ra;
  const float re = (ra - (rs - rv)) + (rb - rv);
  const float r = rs + (re + n * 0x1.de973ep-31f);
  const int32_t q = as_int(z) - as_int(kShifter) + quadrant;
  const float r2 = r * r;
  float s = -0x1.9943e2p-13f;
  s = s * r2 + 0x1.11073ap-7f;
  s = s * r2 - 0x1.555546p-3f;
  s = (s * r2) * r + r;
  float c = 0x1.99eb9cp-16f;
  c = c * r2 - 0x1.6c0c34p-10f;
  c = c * r2 + 0x1.55554ap-5f;
  c = (c * r2) * r2 - 0.5f * r2 + 1.0f;
  float v = (q & 1) ? c : s;
  v = as_float(as_int(v) ^ ((q & 2) << 30));  // quadrants 2 and 3 flip the sign
  // sin x rounds to x below 2^-12; returning x also keeps the sign of -0.
  return (quadrant == 0 && abs_f(x) < 0x1p-12f) ? x : v;
}

}  // namespace ember::cpu::EMBER_SIMD_NS
