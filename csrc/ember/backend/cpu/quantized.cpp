// CPU kernels of the quantized family. quantize / dequantize follow MLX's arithmetic step by
// step (float32 math, the same roundings), so packed weights, scales and dequantized values
// are bit-identical to MLX's. The matmuls never build the whole dequantized matrix: fused
// kernels unpack a small tile of W into L1 and use it for every row of x; from 224 rows, W
// is unpacked (a slab of at most 64 MB at a time) and handed to BLAS.
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ember/backend/cpu/blas.h"
#include "ember/backend/cpu/copy.h"
#include "ember/backend/cpu/index.h"
#include "ember/backend/cpu/simd.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/errors.h"
#include "ember/primitives/quantized.h"

// dequantize must round q * scale before adding the bias, as MLX does: no fused multiply-add.
#if defined(__clang__)
#define EMBER_NO_FMA_FN
#define EMBER_NO_FMA_BODY _Pragma("clang fp contract(off)")
#elif defined(__GNUC__)
#define EMBER_NO_FMA_FN __attribute__((optimize("fp-contract=off")))
#define EMBER_NO_FMA_BODY
#else
#define EMBER_NO_FMA_FN
#define EMBER_NO_FMA_BODY
#endif

// The 32-byte vector types below only cross calls that are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace ember {

namespace {

// ---- element formats --------------------------------------------------------------------

constexpr float kFp4[16] = {0.f,  0.5f,  1.f,  1.5f,  2.f,  3.f,  4.f,  6.f,
                            -0.f, -0.5f, -1.f, -1.5f, -2.f, -3.f, -4.f, -6.f};

// E4M3 (no infinities; 0x7F / 0xFF are NaN) to float, as a table.
struct Fp8Table {
  float v[256];
  Fp8Table() {
    for (int b = 0; b < 256; ++b) {
      int e = (b >> 3) & 15, m = b & 7;
      float a = e == 0 ? std::ldexp(float(m), -9) : std::ldexp(1.f + m / 8.f, e - 7);
      if ((b & 0x7F) == 0x7F) a = std::nanf("");
      v[b] = (b & 0x80) ? -a : a;
    }
  }
};
const float* fp8_table() {
  static const Fp8Table t;
  return t.v;
}

// float to E4M3, rounding to nearest even; anything from 464 up, infinities and NaN become
// +-448 (0x7E), as MLX's CPU conversion does.
uint8_t fp8_encode(float x) {
  const uint8_t sign = std::signbit(x) ? 0x80 : 0;
  float a = std::fabs(x);
  if (!(a < 464.f)) return sign | 0x7E;
  if (a < 0.015625f) {  // subnormal: multiples of 2^-9 (8 of them make 2^-6, code 0x08)
    return sign | uint8_t(std::nearbyint(a * 512.f));
  }
  int e;
  float m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  int q = int(std::nearbyint((m * 2.f - 1.f) * 8.f));
  int exp = e - 1 + 7;
  if (q == 8) q = 0, ++exp;
  int code = (exp << 3) | q;
  return sign | uint8_t(code > 0x7E ? 0x7E : code);
}

// The E2M1 code nearest to v; ties go to the smaller magnitude, zero is +0, and NaN or an
// infinity gives 0 (MLX picks the first of equally distant table entries).
uint8_t fp4_encode(float v) {
  float a = std::fabs(v);
  if (!(a < INFINITY)) return 0;
  int i = a <= 0.25f ? 0 : a <= 0.75f ? 1 : a <= 1.25f ? 2 : a <= 1.75f ? 3
        : a <= 2.5f  ? 4 : a <= 3.5f  ? 5 : a <= 5.f   ? 6 : 7;
  return i == 0 ? 0 : uint8_t(i | (std::signbit(v) ? 8 : 0));
}

// Rounds a float (or double) to T's precision and back: the arithmetic MLX does in T.
template <typename T, typename C>
inline C in_t(C v) {
  if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    return C(float(T(float(v))));
  } else if constexpr (std::is_same_v<T, float>) {
    return C(float(v));
  } else {
    return v;
  }
}

template <typename T>
using Calc = std::conditional_t<std::is_same_v<T, double>, double, float>;

// Appends `bits`-bit values to a little-endian stream of uint32 words.
struct BitWriter {
  uint32_t* out;
  uint64_t buf = 0;
  int have = 0;
  int bits;
  void put(uint32_t q) {
    buf |= uint64_t(q) << have;
    have += bits;
    if (have >= 32) {
      *out++ = uint32_t(buf);
      buf >>= 32;
      have -= 32;
    }
  }
};

// Reads `bits`-bit values from a little-endian stream of uint32 words.
struct BitReader {
  const uint32_t* in;
  uint64_t buf = 0;
  int have = 0;
  int bits;
  uint32_t mask;
  BitReader(const uint32_t* p, int b) : in(p), bits(b), mask((1u << b) - 1) {}
  uint32_t get() {
    if (have < bits) {
      buf |= uint64_t(*in++) << have;
      have += 32;
    }
    uint32_t v = uint32_t(buf) & mask;
    buf >>= bits;
    have -= bits;
    return v;
  }
};

// ---- quantize ---------------------------------------------------------------------------

// One group of g elements: packs q into `words` and returns (scale, bias) in C.
template <typename T>
void quantize_affine_group(const T* w, int g, int bits, uint32_t* words, T& scale_out,
                           T& bias_out) {
  using C = Calc<T>;
  const C n_bins = C((1 << bits) - 1), eps = C(1e-7);
  C lo = INFINITY, hi = -INFINITY;
  for (int j = 0; j < g; ++j) {
    C v = C(w[j]);
    hi = std::max(hi, v);
    lo = std::min(lo, v);
  }
  C scale, bias;
  if (bits == 1) {
    scale = std::max((hi - lo) / n_bins, eps);
    bias = lo;
  } else {
    // The larger extreme is represented exactly: it becomes the bias (q = 0) and the scale
    // is adjusted so that q0 steps reach the other side.
    const bool mask = std::fabs(lo) > std::fabs(hi);
    scale = std::max((hi - lo) / n_bins, eps);
    scale = mask ? scale : -scale;
    const C edge = mask ? lo : hi;
    const C q0 = std::nearbyint(edge / scale);
    bias = 0;
    if (q0 != 0) {
      scale = edge / q0;
      bias = edge;
    }
  }
  BitWriter bw{words};
  bw.bits = bits;
  for (int j = 0; j < g; ++j) {
    C q = std::nearbyint((C(w[j]) - bias) / scale);
    q = std::min(std::max(q, C(0)), n_bins);
    bw.put(uint32_t(q));
  }
  scale_out = T(scale);
  bias_out = T(bias);
}

// One group of a float format: the element codes into `words` and the scale byte.
template <typename T>
uint8_t quantize_fp_group(const T* w, const QuantSpec& s, const float* global, uint32_t* words) {
  using C = Calc<T>;
  const int g = s.group_size;
  C amax = 0;
  for (int j = 0; j < g; ++j) amax = std::max(amax, C(std::fabs(C(w[j]))));
  uint8_t byte;
  C divisor;  // the value each element is divided by
  bool exact_t = true;  // divide in T (MLX's arithmetic) or in float32 (global scales)
  if (s.mode == QuantMode::nvfp4) {
    if (global) {
      const float enc = 2688.f / *global;
      byte = fp8_encode(float(in_t<T>(amax / C(6))) * enc);
      divisor = C(fp8_table()[byte] * (*global / 2688.f));
      exact_t = false;
    } else {
      byte = fp8_encode(float(in_t<T>(amax / C(6))));
      divisor = in_t<T>(C(fp8_table()[byte]));
    }
  } else {
    const C sc = in_t<T>(amax / C(s.bits == 4 ? 6 : 448));
    const int e = sc == 0 ? 0 : int(std::ceil(std::log2(float(sc))));
    byte = uint8_t(e + 127);
    divisor = in_t<T>(C(std::exp2(float(e))));
  }
  BitWriter bw{words};
  bw.bits = s.bits;
  for (int j = 0; j < g; ++j) {
    C v = C(w[j]) / divisor;
    if (exact_t) v = in_t<T>(v);
    bw.put(s.bits == 4 ? fp4_encode(float(v)) : fp8_encode(float(v)));
  }
  return byte;
}

template <typename T>
void quantize_typed(const array& w_in, const QuantSpec& s, const float* global,
                    std::vector<array>& outs) {
  array w = cpu::ensure_row_contiguous(w_in);
  for (auto& o : outs) o.allocate_row_contiguous();
  const int g = s.group_size;
  const int64_t groups = w.size() / g, words = int64_t(g) * s.bits / 32;
  const T* pw = w.data<T>();
  uint32_t* pq = outs[0].data<uint32_t>();
  cpu::parallel_for(groups, std::max<int64_t>(1, (1 << 15) / g), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      if (s.affine()) {
        quantize_affine_group(pw + i * g, g, s.bits, pq + i * words, outs[1].data<T>()[i],
                              outs[2].data<T>()[i]);
      } else {
        outs[1].data<uint8_t>()[i] = quantize_fp_group(pw + i * g, s, global, pq + i * words);
      }
    }
  });
}

float global_value(const array& g) { return *g.data<float>(); }

// ---- dequantize -------------------------------------------------------------------------

template <typename T>
EMBER_NO_FMA_FN void dequantize_affine(const array& w, const array& scales, const array& biases,
                                       const QuantSpec& s, array& out) {
  EMBER_NO_FMA_BODY
  const int g = s.group_size;
  const int64_t groups = scales.size(), words = int64_t(g) * s.bits / 32;
  const uint32_t* pw = w.data<uint32_t>();
  const T* ps = scales.data<T>();
  const T* pb = biases.data<T>();
  T* po = out.data<T>();
  using C = Calc<T>;
  cpu::parallel_for(groups, std::max<int64_t>(1, (1 << 15) / g), [&](int64_t b, int64_t e) {
    EMBER_NO_FMA_BODY
    for (int64_t i = b; i < e; ++i) {
      BitReader br(pw + i * words, s.bits);
      const C sc = C(ps[i]), bi = C(pb[i]);
      T* o = po + i * g;
      for (int j = 0; j < g; ++j) {
        C p = in_t<T>(C(br.get()) * sc);  // rounded before the bias is added
        o[j] = T(p + bi);
      }
    }
  });
}

// The factor each element of a float-format group is multiplied by, in O's precision.
template <typename O>
float fp_group_scale(const QuantSpec& s, uint8_t byte, const float* global) {
  if (s.mode == QuantMode::nvfp4) {
    float v = fp8_table()[byte];
    if (global) v = v * (*global / 2688.f);
    return float(in_t<O>(v));
  }
  return float(in_t<O>(std::exp2(float(int(byte) - 127))));
}

template <typename O>
void dequantize_fp(const array& w, const array& scales, const QuantSpec& s, const float* global,
                   array& out) {
  const int g = s.group_size;
  const int64_t groups = scales.size(), words = int64_t(g) * s.bits / 32;
  const uint32_t* pw = w.data<uint32_t>();
  const uint8_t* ps = scales.data<uint8_t>();
  O* po = out.data<O>();
  const float* t8 = fp8_table();
  cpu::parallel_for(groups, std::max<int64_t>(1, (1 << 15) / g), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      BitReader br(pw + i * words, s.bits);
      const float sc = fp_group_scale<O>(s, ps[i], global);
      O* o = po + i * g;
      for (int j = 0; j < g; ++j) {
        uint32_t q = br.get();
        float v = s.bits == 4 ? kFp4[q] : float(in_t<O>(t8[q]));
        o[j] = O(v * sc);
      }
    }
  });
}

// ---- the matmul kernels -----------------------------------------------------------------

// One packed matrix as the kernels read it: rows of `row_words` words, one scale (and bias)
// per group of each row. S: the scale type (the float dtype for affine, uint8 otherwise).
template <typename S>
struct QMat {
  const uint32_t* w = nullptr;
  const S* scales = nullptr;
  const S* biases = nullptr;
  int64_t rows = 0, row_words = 0, row_groups = 0;
};

template <typename A>
struct Vec;
template <>
struct Vec<float> {
  typedef float type __attribute__((vector_size(32)));
  static constexpr int n = 8;
};
template <>
struct Vec<double> {
  typedef double type __attribute__((vector_size(32)));
  static constexpr int n = 4;
};

template <typename A>
inline __attribute__((always_inline)) typename Vec<A>::type vload(const A* p) {
  typename Vec<A>::type v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
template <typename A>
inline __attribute__((always_inline)) void vstore(A* p, typename Vec<A>::type v) {
  std::memcpy(p, &v, sizeof(v));
}
template <typename A>
inline __attribute__((always_inline)) A hsum(typename Vec<A>::type v) {
  A s = 0;
  for (int i = 0; i < Vec<A>::n; ++i) s += v[i];
  return s;
}

typedef uint32_t v8u __attribute__((vector_size(32)));

// Decodes elements [k0, k0 + n) of row r (k0 and n multiples of the group size) into dst.
template <typename A, typename S>
inline __attribute__((always_inline)) void decode_row(const QuantSpec& s, const QMat<S>& W,
                                                      int64_t r, int64_t k0, int64_t n, A* dst,
                                                      const float* global) {
  const int g = s.group_size;
  const int64_t gw = int64_t(g) * s.bits / 32;
  const uint32_t* words = W.w + r * W.row_words + k0 / g * gw;
  const S* sc = W.scales + r * W.row_groups + k0 / g;
  if (s.affine()) {
    const S* bi = W.biases + r * W.row_groups + k0 / g;
    for (int64_t gi = 0; gi < n / g; ++gi, words += gw, dst += g) {
      const A a = A(sc[gi]), b = A(bi[gi]);
      if constexpr (std::is_same_v<A, float>) {
        if (s.bits == 4) {
          const v8u shifts = {0, 4, 8, 12, 16, 20, 24, 28};
          for (int64_t j = 0; j < gw; ++j) {
            v8u q = (((v8u){} + words[j]) >> shifts) & 15u;
            vstore<float>(dst + 8 * j, __builtin_convertvector(q, Vec<float>::type) * a + b);
          }
          continue;
        }
        if (s.bits == 8) {
          // Bytes are the elements: widen 8 at a time (vpmovzxbd).
          typedef uint8_t v8b __attribute__((vector_size(8)));
          const uint8_t* bytes = reinterpret_cast<const uint8_t*>(words);
          for (int j = 0; j < g; j += 8) {
            v8b q8;
            std::memcpy(&q8, bytes + j, 8);
            v8u q = __builtin_convertvector(q8, v8u);
            vstore<float>(dst + j, __builtin_convertvector(q, Vec<float>::type) * a + b);
          }
          continue;
        }
        if (s.bits == 2) {
          const v8u lo = {0, 2, 4, 6, 8, 10, 12, 14}, hi = lo + 16u;
          for (int64_t j = 0; j < gw; ++j) {
            v8u x = (v8u){} + words[j];
            vstore<float>(dst + 16 * j,
                          __builtin_convertvector((x >> lo) & 3u, Vec<float>::type) * a + b);
            vstore<float>(dst + 16 * j + 8,
                          __builtin_convertvector((x >> hi) & 3u, Vec<float>::type) * a + b);
          }
          continue;
        }
      }
      BitReader br(words, s.bits);
      for (int j = 0; j < g; ++j) dst[j] = A(br.get()) * a + b;
    }
    return;
  }
  const float* t8 = fp8_table();
  for (int64_t gi = 0; gi < n / g; ++gi, words += gw, dst += g) {
    const float f = fp_group_scale<float>(s, uint8_t(sc[gi]), global);
    if (s.bits == 4) {
      if constexpr (std::is_same_v<A, float>) {
        // The 16 scaled E2M1 values as two vectors; each nibble picks one (a two-table
        // shuffle: permutes and a blend on AVX2).
        typedef int32_t v8i __attribute__((vector_size(32)));
        const Vec<float>::type lo = {kFp4[0] * f, kFp4[1] * f, kFp4[2] * f, kFp4[3] * f,
                                     kFp4[4] * f, kFp4[5] * f, kFp4[6] * f, kFp4[7] * f};
        const Vec<float>::type hi = -lo;
        const v8u shifts = {0, 4, 8, 12, 16, 20, 24, 28};
        for (int64_t j = 0; j < gw; ++j) {
          v8i q = (v8i)((((v8u){} + words[j]) >> shifts) & 15u);
          vstore<float>(dst + 8 * j, __builtin_shuffle(lo, hi, q));
        }
        continue;
      }
      float lut[16];
      for (int i = 0; i < 16; ++i) lut[i] = kFp4[i] * f;
      for (int64_t j = 0; j < gw; ++j) {
        uint32_t x = words[j];
        for (int i = 0; i < 8; ++i, x >>= 4) dst[8 * j + i] = A(lut[x & 15]);
      }
    } else {
      const uint8_t* bytes = reinterpret_cast<const uint8_t*>(words);
      for (int j = 0; j < g; ++j) dst[j] = A(t8[bytes[j]] * f);
    }
  }
}

// acc[m * R + r] += x[m, :n] . wt[r, :n] for the R rows of the tile wt (row stride ld). Two
// rows of x at a time, so each load of a tile row feeds two multiply-adds.
template <typename A, int R>
inline __attribute__((always_inline)) void dot_tile(const A* x, int64_t ldx, int64_t M,
                                                    const A* wt, int64_t ld, int64_t n, A* acc) {
  using V = typename Vec<A>::type;
  constexpr int L = Vec<A>::n;
  const int64_t nv = n / L * L;
  int64_t m = 0;
  for (; m + 2 <= M; m += 2) {
    const A* x0 = x + m * ldx;
    const A* x1 = x0 + ldx;
    V a0[R], a1[R];
    for (int r = 0; r < R; ++r) a0[r] = V{}, a1[r] = V{};
    for (int64_t k = 0; k < nv; k += L) {
      V v0 = vload(x0 + k), v1 = vload(x1 + k);
      for (int r = 0; r < R; ++r) {
        V w = vload(wt + r * ld + k);
        a0[r] += v0 * w;
        a1[r] += v1 * w;
      }
    }
    for (int r = 0; r < R; ++r) {
      A s0 = hsum<A>(a0[r]), s1 = hsum<A>(a1[r]);
      for (int64_t k = nv; k < n; ++k) {
        s0 += x0[k] * wt[r * ld + k];
        s1 += x1[k] * wt[r * ld + k];
      }
      acc[m * R + r] += s0;
      acc[(m + 1) * R + r] += s1;
    }
  }
  for (; m < M; ++m) {
    const A* xr = x + m * ldx;
    V a[R];
    for (int r = 0; r < R; ++r) a[r] = V{};
    for (int64_t k = 0; k < nv; k += L) {
      V xv = vload(xr + k);
      for (int r = 0; r < R; ++r) a[r] += xv * vload(wt + r * ld + k);
    }
    for (int r = 0; r < R; ++r) {
      A s = hsum<A>(a[r]);
      for (int64_t k = nv; k < n; ++k) s += xr[k] * wt[r * ld + k];
      acc[m * R + r] += s;
    }
  }
}

constexpr int kTileRows = 4;

// Tiles [t0, t1) of y (M x N) = x (M x K) @ W.T for a packed W (N rows of K): each tile of
// kTileRows rows of W is unpacked a K-chunk at a time into a small buffer and dotted with
// every row of x.
template <typename A, typename S>
inline __attribute__((always_inline)) void fused_tiles(const QuantSpec& s, const A* x, int64_t M,
                                                       int64_t K, const QMat<S>& W, A* y,
                                                       const float* global, int64_t t0,
                                                       int64_t t1) {
  constexpr int R = kTileRows;
  const int64_t N = W.rows;
  const int64_t kc_max = std::max<int64_t>(s.group_size, 1024 / s.group_size * s.group_size);
  std::vector<A> wt(static_cast<size_t>(R * kc_max)), acc(size_t(M * R));
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t n0 = t * R, nr = std::min<int64_t>(R, N - n0);
    std::fill(acc.begin(), acc.end(), A(0));
    for (int64_t k0 = 0; k0 < K; k0 += kc_max) {
      const int64_t kn = std::min(kc_max, K - k0);
      for (int64_t r = 0; r < R; ++r) {
        if (r < nr) {
          decode_row(s, W, n0 + r, k0, kn, wt.data() + r * kc_max, global);
        } else {
          std::fill_n(wt.data() + r * kc_max, kn, A(0));
        }
      }
      dot_tile<A, R>(x + k0, K, M, wt.data(), kc_max, kn, acc.data());
    }
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t r = 0; r < nr; ++r) y[m * N + n0 + r] = acc[m * R + r];
    }
  }
}

// Rows [r0, r1) of W, elements [k0, k0 + n) each, unpacked into dst (row stride n).
template <typename A, typename S>
inline __attribute__((always_inline)) void decode_rows(const QuantSpec& s, const QMat<S>& W,
                                                       int64_t r0, int64_t r1, int64_t k0,
                                                       int64_t n, A* dst, const float* global) {
  for (int64_t r = r0; r < r1; ++r) decode_row(s, W, r, k0, n, dst + (r - r0) * n, global);
}

// Column chunks [c0, c0 + C) of y (M x N) = x (M x K) @ W for a packed W of K rows of N (x @ W,
// no transpose): row k of the chunk is unpacked once and added, times x[m, k], to every row
// m of an accumulator that stays in L1.
template <typename A, typename S>
inline __attribute__((always_inline)) void fused_cols(const QuantSpec& s, const A* x, int64_t M,
                                                      int64_t K, const QMat<S>& W, int64_t N,
                                                      int64_t C, A* y, const float* global,
                                                      int64_t j0, int64_t j1) {
  constexpr int L = Vec<A>::n;
  std::vector<A> wrow(static_cast<size_t>(C)), acc(static_cast<size_t>(M * C));
  for (int64_t j = j0; j < j1; ++j) {
    const int64_t c0 = j * C, nc = std::min(C, N - c0), nv = nc / L * L;
    std::fill(acc.begin(), acc.end(), A(0));
    for (int64_t k = 0; k < K; ++k) {
      decode_row(s, W, k, c0, nc, wrow.data(), global);
      for (int64_t m = 0; m < M; ++m) {
        const A xv = x[m * K + k];
        A* a = acc.data() + m * C;
        for (int64_t c = 0; c < nv; c += L) vstore(a + c, vload(a + c) + xv * vload(wrow.data() + c));
        for (int64_t c = nv; c < nc; ++c) a[c] += xv * wrow[c];
      }
    }
    for (int64_t m = 0; m < M; ++m) std::copy_n(acc.data() + m * C, nc, y + m * N + c0);
  }
}

// Two builds of each hot loop: the baseline and, on x86-64, AVX2 + FMA, chosen at run time
// (honouring EMBER_SIMD=base like the elementwise kernels). Each build is a plain function:
// a lambda inside a function with a target attribute would not inherit it.
template <typename A, typename S>
void fused_tiles_base(const QuantSpec& s, const A* x, int64_t M, int64_t K, const QMat<S>& W,
                      A* y, const float* global, int64_t t0, int64_t t1) {
  fused_tiles(s, x, M, K, W, y, global, t0, t1);
}
template <typename A, typename S>
void fused_cols_base(const QuantSpec& s, const A* x, int64_t M, int64_t K, const QMat<S>& W,
                     int64_t N, int64_t C, A* y, const float* global, int64_t j0, int64_t j1) {
  fused_cols(s, x, M, K, W, N, C, y, global, j0, j1);
}
template <typename A, typename S>
void decode_rows_base(const QuantSpec& s, const QMat<S>& W, int64_t r0, int64_t r1, int64_t k0,
                      int64_t n, A* dst, const float* global) {
  decode_rows(s, W, r0, r1, k0, n, dst, global);
}
#if defined(__x86_64__) && defined(__GNUC__)
#define EMBER_QMM_AVX2 1
template <typename A, typename S>
__attribute__((target("avx2,fma"))) void fused_tiles_avx2(const QuantSpec& s, const A* x,
                                                          int64_t M, int64_t K, const QMat<S>& W,
                                                          A* y, const float* global, int64_t t0,
                                                          int64_t t1) {
  fused_tiles(s, x, M, K, W, y, global, t0, t1);
}
template <typename A, typename S>
__attribute__((target("avx2,fma"))) void fused_cols_avx2(const QuantSpec& s, const A* x,
                                                         int64_t M, int64_t K, const QMat<S>& W,
                                                         int64_t N, int64_t C, A* y,
                                                         const float* global, int64_t j0,
                                                         int64_t j1) {
  fused_cols(s, x, M, K, W, N, C, y, global, j0, j1);
}
template <typename A, typename S>
__attribute__((target("avx2,fma"))) void decode_rows_avx2(const QuantSpec& s, const QMat<S>& W,
                                                          int64_t r0, int64_t r1, int64_t k0,
                                                          int64_t n, A* dst, const float* global) {
  decode_rows(s, W, r0, r1, k0, n, dst, global);
}
bool use_avx2() {
  static const bool ok = std::string(cpu::simd::table().isa) != "base" &&
                         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}
#endif

template <typename A, typename S>
void run_fused_tiles(const QuantSpec& s, const A* x, int64_t M, int64_t K, const QMat<S>& W, A* y,
                     const float* global, int64_t t0, int64_t t1) {
#ifdef EMBER_QMM_AVX2
  if (use_avx2()) return fused_tiles_avx2(s, x, M, K, W, y, global, t0, t1);
#endif
  fused_tiles_base(s, x, M, K, W, y, global, t0, t1);
}

template <typename A, typename S>
void run_decode_rows(const QuantSpec& s, const QMat<S>& W, int64_t r0, int64_t r1, int64_t k0,
                     int64_t n, A* dst, const float* global) {
#ifdef EMBER_QMM_AVX2
  if (use_avx2()) return decode_rows_avx2(s, W, r0, r1, k0, n, dst, global);
#endif
  decode_rows_base(s, W, r0, r1, k0, n, dst, global);
}

// y (M x N) = x (M x K) @ W (no transpose), fused, threads over chunks of columns.
template <typename A, typename S>
void qmm_fused_cols(const QuantSpec& s, const A* x, int64_t M, int64_t K, const QMat<S>& W,
                    int64_t N, A* y, const float* global) {
  // Chunks of whole groups, a few KB of accumulator per row of x.
  const int64_t C = std::max<int64_t>(s.group_size, 256 / s.group_size * s.group_size);
  const int64_t chunks = (N + C - 1) / C;
  const int64_t work = std::max<int64_t>(1, M * C * K);
  cpu::parallel_for(chunks, std::max<int64_t>(1, (1 << 17) / work), [&](int64_t j0, int64_t j1) {
#ifdef EMBER_QMM_AVX2
    if (use_avx2()) return fused_cols_avx2(s, x, M, K, W, N, C, y, global, j0, j1);
#endif
    fused_cols_base(s, x, M, K, W, N, C, y, global, j0, j1);
  });
}

// y (M x N) = x (M x K) @ W.T, fused, threads over tiles of rows of W.
template <typename A, typename S>
void qmm_t_fused(const QuantSpec& s, const A* x, int64_t M, int64_t K, const QMat<S>& W, A* y,
                 const float* global) {
  const int64_t tiles = (W.rows + kTileRows - 1) / kTileRows;
  const int64_t work = std::max<int64_t>(1, M * kTileRows * K);
  cpu::parallel_for(tiles, std::max<int64_t>(1, (1 << 17) / work), [&](int64_t t0, int64_t t1) {
    run_fused_tiles(s, x, M, K, W, y, global, t0, t1);
  });
}

// Rows of x from which unpacking W for BLAS beats the fused kernel: the fused kernel unpacks
// each tile once for all rows, but its inner product is not BLAS's. Measured on W 4096 x
// 4096 (4-bit, one thread, CPU time, against dequantize + matmul): fused 1.01x at 160 rows,
// 1.02x at 192, 1.30x at 256; unpacked for BLAS 1.09x at 256, 1.06x at 512 (where the fused
// kernel took 1.81x).
constexpr int64_t kBlasRows = 224;
// Elements of W unpacked per slab (64 MB of float32): a whole 4096 x 4096 W in one slab, so
// the cores pass from ember's threads to BLAS's once (each pass costs much more than the
// arithmetic on a loaded machine); larger matrices go in a few slabs.
constexpr int64_t kSlab = 1 << 24;

// n elements of A for a slab of unpacked W, from ember's allocator (uninitialized, counted
// against the memory limit; a failure names the kernel), as the kernels' other scratch arrays.
template <typename A>
array slab_buffer(int64_t n) {
  array b = array::placeholder(Shape{n}, std::is_same_v<A, double> ? Dtype::float64
                                                                    : Dtype::float32);
  b.allocate_row_contiguous();
  return b;
}

// y = x @ W.T (transpose) or x @ W with W unpacked one slab of rows (or columns) at a time.
template <typename A, typename S>
void qmm_slabs(const QuantSpec& s, bool transpose, const A* x, int64_t M, int64_t K,
               const QMat<S>& W, int64_t N, A* y, const float* global) {
  if (transpose) {
    // Slabs of rows of W: y[:, n0:n1] = x @ slab.T.
    const int64_t rows = std::max<int64_t>(1, kSlab / std::max<int64_t>(K, 1));
    array slab = slab_buffer<A>(std::min(rows, N) * K);
    A* buf = slab.data<A>();
    for (int64_t n0 = 0; n0 < N; n0 += rows) {
      const int64_t nr = std::min(rows, N - n0);
      cpu::parallel_for(nr, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(K, 1)),
                        [&](int64_t b, int64_t e) {
                          run_decode_rows(s, W, n0 + b, n0 + e, 0, K, buf + b * K, global);
                        });
      cpu::gemm(false, true, int(M), int(nr), int(K), A(1), x, int(K), buf, int(K), A(0),
                y + n0, int(N));
    }
    return;
  }
  // W is K rows of N packed along N: slabs of columns [c0, c1), group-aligned.
  const int g = s.group_size;
  int64_t cols = std::max<int64_t>(g, kSlab / std::max<int64_t>(K, 1) / g * g);
  cols = std::min(cols, N);
  array slab = slab_buffer<A>(K * cols);
  A* buf = slab.data<A>();
  for (int64_t c0 = 0; c0 < N; c0 += cols) {
    const int64_t nc = std::min(cols, N - c0);
    cpu::parallel_for(K, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(nc, 1)),
                      [&](int64_t b, int64_t e) {
                        run_decode_rows(s, W, b, e, c0, nc, buf + b * nc, global);
                      });
    cpu::gemm(false, false, int(M), int(nc), int(K), A(1), x, int(K), buf, int(nc), A(0),
              y + c0, int(N));
  }
}

// y (M x N, row-major A) = x (M x K) times the packed matrix.
template <typename A, typename S>
void qmm_2d(const QuantSpec& s, bool transpose, const A* x, int64_t M, int64_t K,
            const QMat<S>& W, int64_t N, A* y, const float* global) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    std::fill_n(y, M * N, A(0));
    return;
  }
  if (M < kBlasRows) {
    return transpose ? qmm_t_fused(s, x, M, K, W, y, global)
                     : qmm_fused_cols(s, x, M, K, W, N, y, global);
  }
  qmm_slabs(s, transpose, x, M, K, W, N, y, global);
}

// The float type the kernels compute in for dtype T.
template <typename T>
using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;

// Copies a matrix (rows x cols, element strides sr, sc) of T into a row-major A buffer.
template <typename T, typename A>
void load_matrix(const T* p, int64_t rows, int64_t cols, int64_t sr, int64_t sc, A* dst) {
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) dst[i * cols + j] = A(p[i * sr + j * sc]);
  }
}

// a itself when its last two dims are row-major, else a row-contiguous copy.
array rows_contiguous(const array& a) {
  const int nd = a.ndim();
  bool ok = a.strides()[nd - 1] == 1 || a.shape(nd - 1) <= 1;
  ok = ok && (a.shape(nd - 2) <= 1 || a.strides()[nd - 2] == a.shape(nd - 1));
  return ok ? a : cpu::ensure_row_contiguous(a);
}

// Element offsets of each matrix (over the batch dims) of a.
std::vector<int64_t> matrix_offsets(const array& a) {
  Shape batch(a.shape().begin(), a.shape().end() - 2);
  Strides st(a.strides().begin(), a.strides().end() - 2);
  return cpu::offset_table(batch, st);
}

// The number of matrices of a (the product of its batch dims).
int64_t batch_count(const array& a) {
  int64_t n = 1;
  for (int i = 0; i + 2 < a.ndim(); ++i) n *= a.shape(i);
  return n;
}

// The packed matrix number i of (w, scales, biases), all row-contiguous per matrix.
template <typename S>
QMat<S> qmat_at(const array& w, const array& scales, const array* biases, int64_t wo, int64_t so,
                int64_t bo) {
  QMat<S> W;
  W.w = w.data<uint32_t>() + wo;
  W.scales = scales.data<S>() + so;
  if (biases) W.biases = biases->data<S>() + bo;
  W.rows = w.shape(-2);
  W.row_words = w.shape(-1);
  W.row_groups = scales.shape(-1);
  return W;
}

// The scale type S the kernels read for a format (uint8 for the float formats).
template <typename T, typename F>
void dispatch_scales(const QuantSpec& s, F&& f) {
  if (s.affine()) {
    f(T{});
  } else {
    f(uint8_t{});
  }
}

// Writes an A buffer into out (dtype T) at element offset `at`.
template <typename T, typename A>
void store(const A* src, int64_t n, T* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = T(src[i]);
}

// quantized_matmul over the (shared) batch of every input.
template <typename T>
void quantized_matmul_typed(const QuantSpec& s, bool transpose, const std::vector<array>& inputs,
                            array& out) {
  using A = Acc<T>;
  const array& x = inputs[0];
  array w = rows_contiguous(inputs[1]), sc = rows_contiguous(inputs[2]);
  array bi = s.affine() ? rows_contiguous(inputs[3]) : array();
  out.allocate_row_contiguous();
  const int64_t M = out.shape(-2), N = out.shape(-1), K = x.shape(-1);
  auto xo = matrix_offsets(x), wo = matrix_offsets(w), so = matrix_offsets(sc);
  auto bo = s.affine() ? matrix_offsets(bi) : so;
  std::vector<A> xb(static_cast<size_t>(M * K)), yb(size_t(M * N));
  const int nd = x.ndim();
  dispatch_scales<T>(s, [&](auto sv) {
    using S = decltype(sv);
    for (size_t b = 0; b < xo.size(); ++b) {
      load_matrix(x.data<T>() + xo[b], M, K, x.strides()[nd - 2], x.strides()[nd - 1], xb.data());
      QMat<S> W = qmat_at<S>(w, sc, s.affine() ? &bi : nullptr, wo[b], so[b], bo[b]);
      qmm_2d(s, transpose, xb.data(), M, K, W, N, yb.data(), nullptr);
      store(yb.data(), M * N, out.data<T>() + b * M * N);
    }
  });
}

// Runs of consecutive positions with the same rhs index share one unpacking of W: their x
// matrices are stacked into one taller x.
template <typename T, typename F>
void gather_runs(const char* op, const array& x_in, const std::vector<int64_t>& l,
                 const std::vector<int64_t>& r, int64_t M, int64_t K, int64_t N, array& out,
                 F&& product) {
  using A = Acc<T>;
  array x = cpu::ensure_row_contiguous(x_in);
  const T* px = x.data<T>();
  T* po = out.data<T>();
  const size_t P = l.size();
  std::vector<A> xb, yb;
  for (size_t p0 = 0; p0 < P;) {
    size_t p1 = p0 + 1;
    while (p1 < P && r[p1] == r[p0]) ++p1;
    const int64_t rows = int64_t(p1 - p0) * M;
    xb.resize(size_t(rows * K));
    yb.resize(size_t(rows * N));
    for (size_t p = p0; p < p1; ++p) {
      const T* src = px + l[p] * M * K;
      A* dst = xb.data() + (p - p0) * M * K;
      for (int64_t i = 0; i < M * K; ++i) dst[i] = A(src[i]);
    }
    product(xb.data(), rows, r[p0], yb.data());
    store(yb.data(), rows * N, po + p0 * M * N);
    p0 = p1;
  }
  (void)op;
}

template <typename T>
void gather_qmm_typed(const QuantSpec& s, bool transpose, const std::vector<array>& inputs,
                      array& out) {
  const size_t n = inputs.size();
  const array& x = inputs[0];
  array w = cpu::ensure_row_contiguous(inputs[1]), sc = cpu::ensure_row_contiguous(inputs[2]);
  array bi = s.affine() ? cpu::ensure_row_contiguous(inputs[3]) : array();
  out.allocate_row_contiguous();
  const int64_t M = out.shape(-2), N = out.shape(-1), K = x.shape(-1);
  auto l = cpu::matrix_indices("gather_qmm", inputs[n - 2], batch_count(x));
  const int64_t wm = w.shape(-2) * w.shape(-1), sm = sc.shape(-2) * sc.shape(-1);
  auto r = cpu::matrix_indices("gather_qmm", inputs[n - 1], batch_count(w));
  if (out.size() == 0) return;
  dispatch_scales<T>(s, [&](auto sv) {
    using S = decltype(sv);
    gather_runs<T>("gather_qmm", x, l, r, M, K, N, out, [&](const Acc<T>* xb, int64_t rows,
                                                            int64_t ri, Acc<T>* yb) {
      QMat<S> W = qmat_at<S>(w, sc, s.affine() ? &bi : nullptr, ri * wm, ri * sm, ri * sm);
      qmm_2d(s, transpose, xb, rows, K, W, N, yb, nullptr);
    });
  });
}

// ---- qqmm -------------------------------------------------------------------------------

// Rounds rows (n of K elements, row-major A) through the format in place: quantize one group,
// then dequantize it (as dequantize(quantize(.)) in x's dtype T).
template <typename T>
void round_trip_rows(const QuantSpec& s, Acc<T>* v, int64_t n, int64_t K, const float* global) {
  using A = Acc<T>;
  const int g = s.group_size;
  const int64_t groups = n * K / g;
  cpu::parallel_for(groups, std::max<int64_t>(1, (1 << 14) / g), [&](int64_t b, int64_t e) {
    std::vector<T> tmp(static_cast<size_t>(g));
    std::vector<uint32_t> words(static_cast<size_t>(g * s.bits / 32));
    const float* t8 = fp8_table();
    for (int64_t i = b; i < e; ++i) {
      A* p = v + i * g;
      for (int j = 0; j < g; ++j) tmp[j] = T(p[j]);
      uint8_t byte = quantize_fp_group(tmp.data(), s, global, words.data());
      const float f = fp_group_scale<T>(s, byte, global);
      BitReader br(words.data(), s.bits);
      for (int j = 0; j < g; ++j) {
        uint32_t q = br.get();
        float val = s.bits == 4 ? kFp4[q] : float(in_t<T>(t8[q]));
        p[j] = A(T(val * f));
      }
    }
  });
}

// Quantizes a float matrix (rows x K of T at p) into packed words and scale bytes.
template <typename T>
void pack_rows(const QuantSpec& s, const T* p, int64_t rows, int64_t K, const float* global,
               std::vector<uint32_t>& words, std::vector<uint8_t>& scales) {
  const int g = s.group_size;
  const int64_t groups = rows * K / g, gw = int64_t(g) * s.bits / 32;
  words.resize(size_t(groups * gw));
  scales.resize(size_t(groups));
  cpu::parallel_for(groups, std::max<int64_t>(1, (1 << 14) / g), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      scales[i] = quantize_fp_group(p + i * g, s, global, words.data() + i * gw);
    }
  });
}

template <typename T>
void qqmm_typed(const QuantSpec& s, bool w_packed, bool has_gsx, bool has_gsw, bool gather,
                const std::vector<array>& inputs, array& out) {
  using A = Acc<T>;
  size_t i = 0;
  const array& x = inputs[i++];
  // qqmm broadcast w (and its scales) to x's batch: keep those views, never copy them.
  array w = gather ? cpu::ensure_row_contiguous(inputs[i++]) : rows_contiguous(inputs[i++]);
  array sc;
  if (w_packed) sc = gather ? cpu::ensure_row_contiguous(inputs[i++]) : rows_contiguous(inputs[i++]);
  float gx = 0, gw = 0;
  if (has_gsx) gx = global_value(inputs[i++]);
  if (has_gsw) gw = global_value(inputs[i++]);
  const float* px_g = has_gsx ? &gx : nullptr;
  const float* pw_g = has_gsw ? &gw : nullptr;
  out.allocate_row_contiguous();
  const int64_t M = out.shape(-2), N = out.shape(-1), K = x.shape(-1);
  if (out.size() == 0) return;
  // The packed matrix at element offsets (wo, so), packing a float w once per matrix.
  std::map<int64_t, std::pair<std::vector<uint32_t>, std::vector<uint8_t>>> packed;
  auto matrix = [&](int64_t wo, int64_t so) {
    if (w_packed) return qmat_at<uint8_t>(w, sc, nullptr, wo, so, 0);
    auto it = packed.find(wo);
    if (it == packed.end()) {
      it = packed.emplace(wo, std::pair<std::vector<uint32_t>, std::vector<uint8_t>>{}).first;
      pack_rows(s, w.data<T>() + wo, N, K, pw_g, it->second.first, it->second.second);
    }
    QMat<uint8_t> W;
    W.w = it->second.first.data();
    W.scales = it->second.second.data();
    W.rows = N;
    W.row_words = K * s.bits / 32;
    W.row_groups = K / s.group_size;
    return W;
  };
  if (gather) {
    const size_t n = inputs.size();
    const int64_t wmat = w.shape(-2) * w.shape(-1);
    const int64_t smat = w_packed ? sc.shape(-2) * sc.shape(-1) : 0;
    auto l = cpu::matrix_indices("gather_qqmm", inputs[n - 2], batch_count(x));
    auto r = cpu::matrix_indices("gather_qqmm", inputs[n - 1], batch_count(w));
    gather_runs<T>("gather_qqmm", x, l, r, M, K, N, out,
                   [&](A* xb, int64_t rows, int64_t ri, A* yb) {
                     round_trip_rows<T>(s, xb, rows, K, px_g);
                     qmm_2d(s, true, xb, rows, K, matrix(ri * wmat, ri * smat), N, yb, pw_g);
                   });
    return;
  }
  auto xo = matrix_offsets(x), wo = matrix_offsets(w);
  std::vector<int64_t> so = w_packed ? matrix_offsets(sc) : std::vector<int64_t>(wo.size(), 0);
  const int nd = x.ndim();
  std::vector<A> xb(static_cast<size_t>(M * K)), yb(size_t(M * N));
  for (size_t b = 0; b < xo.size(); ++b) {
    load_matrix(x.data<T>() + xo[b], M, K, x.strides()[nd - 2], x.strides()[nd - 1], xb.data());
    round_trip_rows<T>(s, xb.data(), M, K, px_g);
    qmm_2d(s, true, xb.data(), M, K, matrix(wo[b], so[b]), N, yb.data(), pw_g);
    store(yb.data(), M * N, out.data<T>() + b * M * N);
  }
}

// Calls f with the float type of dtype t.
template <typename F>
void dispatch_float(const char* op, Dtype t, F&& f) {
  switch (t) {
    case Dtype::float32: return f(float{});
    case Dtype::float64: return f(double{});
    case Dtype::float16: return f(float16_t{});
    case Dtype::bfloat16: return f(bfloat16_t{});
    default:
      throw type_error(msg("[", op, "] Not supported for dtype ", dtype_name(t), "."));
  }
}

}  // namespace

void Quantize::eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) {
  float g = 0;
  if (inputs.size() > 1) g = global_value(inputs[1]);
  dispatch_float("quantize", inputs[0].dtype(), [&](auto v) {
    quantize_typed<decltype(v)>(inputs[0], spec_, inputs.size() > 1 ? &g : nullptr, outputs);
  });
}

void Dequantize::eval_cpu(const std::vector<array>& inputs, array& out) {
  array w = cpu::ensure_row_contiguous(inputs[0]), sc = cpu::ensure_row_contiguous(inputs[1]);
  out.allocate_row_contiguous();
  if (spec_.affine()) {
    array bi = cpu::ensure_row_contiguous(inputs[2]);
    dispatch_float("dequantize", out.dtype(), [&](auto v) {
      dequantize_affine<decltype(v)>(w, sc, bi, spec_, out);
    });
    return;
  }
  float g = 0;
  if (has_global_scale_) g = global_value(inputs[2]);
  dispatch_float("dequantize", out.dtype(), [&](auto v) {
    dequantize_fp<decltype(v)>(w, sc, spec_, has_global_scale_ ? &g : nullptr, out);
  });
}

void QuantizedMatmul::eval_cpu(const std::vector<array>& inputs, array& out) {
  dispatch_float("quantized_matmul", out.dtype(), [&](auto v) {
    quantized_matmul_typed<decltype(v)>(spec_, transpose_, inputs, out);
  });
}

void GatherQMM::eval_cpu(const std::vector<array>& inputs, array& out) {
  dispatch_float("gather_qmm", out.dtype(), [&](auto v) {
    gather_qmm_typed<decltype(v)>(spec_, transpose_, inputs, out);
  });
}

void QQMatmul::eval_cpu(const std::vector<array>& inputs, array& out) {
  dispatch_float(gather_ ? "gather_qqmm" : "qqmm", out.dtype(), [&](auto v) {
    qqmm_typed<decltype(v)>(spec_, w_packed_, has_gsx_, has_gsw_, gather_, inputs, out);
  });
}

void ToFP8::eval_cpu(const std::vector<array>& inputs, array& out) {
  array x = cpu::ensure_row_contiguous(inputs[0]);
  out.allocate_row_contiguous();
  uint8_t* po = out.data<uint8_t>();
  dispatch_float("to_fp8", x.dtype(), [&](auto v) {
    using T = decltype(v);
    const T* px = x.data<T>();
    cpu::parallel_for(x.size(), 1 << 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) po[i] = fp8_encode(float(px[i]));
    });
  });
}

void FromFP8::eval_cpu(const std::vector<array>& inputs, array& out) {
  array x = cpu::ensure_row_contiguous(inputs[0]);
  out.allocate_row_contiguous();
  const uint8_t* px = x.data<uint8_t>();
  const float* t8 = fp8_table();
  dispatch_float("from_fp8", out.dtype(), [&](auto v) {
    using T = decltype(v);
    T* po = out.data<T>();
    cpu::parallel_for(x.size(), 1 << 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) po[i] = T(t8[px[i]]);
    });
  });
}

}  // namespace ember
