// CPU kernels of scaled_dot_product_attention, written in the FlashAttention manner: the
// forward walks key blocks with an online softmax (a running max and denominator per query
// row, the output rescaled as they grow), so the (L, S) score matrix is never stored; it
// keeps each row's log-denominator (lse). The backward recomputes each block's
// probabilities from lse and accumulates dq, dk, dv block by block. The block products run
// on block_matmul, a register-tiled kernel built per instruction set.
#include <cmath>
#include <limits>
#include <vector>

#include "ember/backend/cpu/copy.h"
#include "ember/backend/cpu/elementwise.h"
#include "ember/backend/cpu/fast_kernels.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/primitives/fast.h"

namespace ember {

// ---- block_matmul: C (+)= A B on cache-resident blocks --------------------------------
namespace cpu::fast {

namespace {

#if defined(__GNUC__) || defined(__clang__)
#define EMBER_FAST_INLINE inline __attribute__((always_inline))
#else
#define EMBER_FAST_INLINE inline
#endif

// 64-byte vectors (GCC / clang vector extensions): one zmm, two ymm or four xmm registers,
// whatever the instruction set of the function they are inlined into.
template <typename A>
struct Vec;
template <>
struct Vec<float> {
  typedef float type __attribute__((vector_size(64)));
  static constexpr int lanes = 16;
};
template <>
struct Vec<double> {
  typedef double type __attribute__((vector_size(64)));
  static constexpr int lanes = 8;
};

// An R x (CV * lanes) tile of C: R rows of op(A) broadcast against CV vectors of each row
// of B, the sums held in registers for all k. TA: A is stored transposed (element (r, p)
// at a[p * lda + r]).
template <typename A, int R, int CV, bool TA>
EMBER_FAST_INLINE void tile(int64_t k, const A* a, int64_t lda, const A* b, int64_t ldb, A* c,
                            int64_t ldc, bool accumulate) {
  using V = typename Vec<A>::type;
  constexpr int W = Vec<A>::lanes;
  V s[R][CV];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < CV; ++v) {
      if (accumulate) std::memcpy(&s[r][v], c + r * ldc + v * W, sizeof(V));
      else s[r][v] = V{};
    }
  }
  for (int64_t p = 0; p < k; ++p) {
    V bv[CV];
    for (int v = 0; v < CV; ++v) std::memcpy(&bv[v], b + p * ldb + v * W, sizeof(V));
    for (int r = 0; r < R; ++r) {
      const A av = TA ? a[p * lda + r] : a[r * lda + p];
      for (int v = 0; v < CV; ++v) s[r][v] += av * bv[v];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < CV; ++v) std::memcpy(c + r * ldc + v * W, &s[r][v], sizeof(V));
  }
}

template <typename A, int R, int CV, bool TA>
EMBER_FAST_INLINE void rows_of_tiles(int64_t m, int64_t k, const A* a, int64_t lda, const A* b,
                                     int64_t ldb, A* c, int64_t ldc, bool accumulate) {
  // Row i of op(A) starts at a + i * lda, or at a + i when A is stored transposed.
  const int64_t step = TA ? 1 : lda;
  int64_t i = 0;
  for (; i + R <= m; i += R) tile<A, R, CV, TA>(k, a + i * step, lda, b, ldb, c + i * ldc, ldc, accumulate);
  for (; i < m; ++i) tile<A, 1, CV, TA>(k, a + i * step, lda, b, ldb, c + i * ldc, ldc, accumulate);
}

template <typename A, int R, int CV, bool TA>
EMBER_FAST_INLINE void matmul_impl(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda,
                                   const A* b, int64_t ldb, A* c, int64_t ldc, bool accumulate) {
  constexpr int W = Vec<A>::lanes;
  int64_t j = 0;
  for (; j + CV * W <= n; j += CV * W) {
    rows_of_tiles<A, R, CV, TA>(m, k, a, lda, b + j, ldb, c + j, ldc, accumulate);
  }
  for (; j + W <= n; j += W) rows_of_tiles<A, R, 1, TA>(m, k, a, lda, b + j, ldb, c + j, ldc, accumulate);
  if (j == n) return;
  for (int64_t i = 0; i < m; ++i) {  // the last n % lanes columns
    A* ci = c + i * ldc;
    if (!accumulate) {
      for (int64_t jj = j; jj < n; ++jj) ci[jj] = 0;
    }
    for (int64_t p = 0; p < k; ++p) {
      const A av = TA ? a[p * lda + i] : a[i * lda + p];
      const A* bp = b + p * ldb;
      for (int64_t jj = j; jj < n; ++jj) ci[jj] += av * bp[jj];
    }
  }
}

template <typename A>
using MatmulFn = void (*)(int64_t, int64_t, int64_t, const A*, int64_t, const A*, int64_t, A*,
                          int64_t, bool, bool);

// One build per instruction set; tiles sized to the register file (32 zmm: 8 x 2 vectors,
// 16 ymm: 6 x 1 64-byte vector, 16 xmm: 3 x 1).
#define EMBER_FAST_MATMUL(suffix, attr, R, CV)                                                      \
  template <typename A>                                                                           \
  attr void matmul_##suffix(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda, const A* b, \
                            int64_t ldb, A* c, int64_t ldc, bool accumulate, bool trans_a) {      \
    if (trans_a) matmul_impl<A, R, CV, true>(m, n, k, a, lda, b, ldb, c, ldc, accumulate);        \
    else matmul_impl<A, R, CV, false>(m, n, k, a, lda, b, ldb, c, ldc, accumulate);               \
  }
EMBER_FAST_MATMUL(base, , 3, 1)
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define EMBER_FAST_HAS_X86 1
EMBER_FAST_MATMUL(avx2, __attribute__((target("avx2,fma"))), 6, 1)
EMBER_FAST_MATMUL(avx512, __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))), 8, 2)
#endif
#undef EMBER_FAST_MATMUL

// The build for the instruction set simd.h chose (EMBER_SIMD narrows it for tests too).
template <typename A>
MatmulFn<A> pick_matmul() {
#ifdef EMBER_FAST_HAS_X86
  const std::string isa = simd::table().isa;
  if (isa == "avx512") return &matmul_avx512<A>;
  if (isa == "avx2") return &matmul_avx2<A>;
#endif
  return &matmul_base<A>;
}

}  // namespace

void block_matmul(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float* c, int64_t ldc, bool accumulate, bool trans_a) {
  static const MatmulFn<float> fn = pick_matmul<float>();
  fn(m, n, k, a, lda, b, ldb, c, ldc, accumulate, trans_a);
}
void block_matmul(int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b,
                  int64_t ldb, double* c, int64_t ldc, bool accumulate, bool trans_a) {
  static const MatmulFn<double> fn = pick_matmul<double>();
  fn(m, n, k, a, lda, b, ldb, c, ldc, accumulate, trans_a);
}

}  // namespace cpu::fast

// ---- attention -------------------------------------------------------------------------
namespace {

using cpu::fast::acc_t;
using cpu::fast::block_matmul;

constexpr int64_t kQueryBlock = 64;  // query rows per block
constexpr int64_t kKeyBlock = 128;   // keys per block (forward)
constexpr int64_t kKeyBlockBwd = 64;

// Strided access to a 4-d input (b, h, row, col); the last axis must be dense.
template <typename T>
struct View4 {
  const T* data = nullptr;
  int64_t s0 = 0, s1 = 0, s2 = 0, s3 = 1;
  View4() = default;
  explicit View4(const array& a)
      : data(a.data<T>()), s0(a.strides()[0]), s1(a.strides()[1]), s2(a.strides()[2]),
        s3(a.strides()[3]) {}
  const T* row(int64_t b, int64_t h, int64_t i) const { return data + b * s0 + h * s1 + i * s2; }
};

// q, k, v with a dense last axis (copied when they are not: a transposed view, say).
array dense_last(const array& a) {
  return (a.shape(-1) <= 1 || a.strides().back() == 1) ? a : cpu::ensure_row_contiguous(a);
}

struct Dims {
  int64_t B, Hq, Hkv, L, S, D, Dv, rep;
  explicit Dims(const std::vector<array>& in)
      : B(in[0].shape(0)), Hq(in[0].shape(1)), Hkv(in[1].shape(1)), L(in[0].shape(2)),
        S(in[1].shape(2)), D(in[0].shape(3)), Dv(in[2].shape(3)), rep(Hq / std::max<int64_t>(Hkv, 1)) {}
  // Keys visible to query row i under the causal mask: [0, i + S - L] (lower right aligned).
  int64_t causal_end(int64_t i) const { return std::clamp<int64_t>(i + S - L + 1, 0, S); }
};

// The mask of an attention call, read in the accumulation type.
template <typename A>
struct MaskInput {
  MaskKind kind = MaskKind::none;
  bool causal = false;
  View4<bool> boolean;
  View4<A> additive;
  // Masks scores s (rows x cols) of query rows i0.. and keys j0..: masked ones become -inf.
  void apply(const Dims& d, int64_t b, int64_t h, int64_t i0, int64_t rows, int64_t j0, int64_t cols,
             A* s, int64_t lds) const {
    const A ninf = -std::numeric_limits<A>::infinity();
    for (int64_t r = 0; r < rows; ++r) {
      A* sr = s + r * lds;
      const int64_t i = i0 + r;
      if (causal) {
        const int64_t end = d.causal_end(i) - j0;
        for (int64_t c = std::max<int64_t>(end, 0); c < cols; ++c) sr[c] = ninf;
      }
      if (kind == MaskKind::boolean) {
        const bool* m = boolean.row(b, h, i) + j0 * boolean.s3;
        for (int64_t c = 0; c < cols; ++c) {
          if (!m[c * boolean.s3]) sr[c] = ninf;
        }
      } else if (kind == MaskKind::additive) {
        const A* m = additive.row(b, h, i) + j0 * additive.s3;
        for (int64_t c = 0; c < cols; ++c) sr[c] += m[c * additive.s3];
      }
    }
  }
};

// An operand of the block products in the accumulation type, laid out as the register
// tiles read it: each (R, C) plane (one batch and head) split into strips of kStrip
// columns, each strip R x kStrip contiguous. Rows of a plain row-major plane sit a whole
// row apart: with power-of-two widths (128, 2048 floats) they fall into the same few L1
// sets and evict each other; a strip is read front to back. Made once per call.
constexpr int64_t kStrip = 32;

template <typename A>
struct Strips {
  std::vector<A> data;
  int64_t rows = 0, strips = 0;
  const A* at(int64_t plane, int64_t strip, int64_t row) const {
    return data.data() + ((plane * strips + strip) * rows + row) * kStrip;
  }
};

// The planes (R, C) of x, or their transposes (C, R) when transpose, as strips.
template <typename T, typename A>
Strips<A> make_strips(const View4<T>& x, int64_t B, int64_t H, int64_t R, int64_t C, bool transpose) {
  Strips<A> s;
  const int64_t out_rows = transpose ? C : R, out_cols = transpose ? R : C;
  s.rows = out_rows;
  s.strips = (out_cols + kStrip - 1) / kStrip;
  s.data.assign(static_cast<size_t>(B * H * s.strips * out_rows * kStrip), A(0));
  const int64_t planes = B * H;
  if (transpose) {
    // Strip t of the transpose holds input rows [t * kStrip, ...): load them, write columns.
    cpu::parallel_for(planes * s.strips, std::max<int64_t>(1, cpu::kParallelGrain / std::max<int64_t>(kStrip * C, 1)),
                      [&](int64_t t0, int64_t t1) {
                        std::vector<A> buf(static_cast<size_t>(kStrip * C));
                        for (int64_t t = t0; t < t1; ++t) {
                          const int64_t plane = t / s.strips, strip = t % s.strips;
                          const int64_t j0 = strip * kStrip, n = std::min(kStrip, R - j0);
                          for (int64_t j = 0; j < n; ++j) {
                            cpu::fast::load_row(x.row(plane / H, plane % H, j0 + j), buf.data() + j * C, C);
                          }
                          A* dst = s.data.data() + ((plane * s.strips + strip) * out_rows) * kStrip;
                          for (int64_t c = 0; c < C; ++c) {
                            for (int64_t j = 0; j < n; ++j) dst[c * kStrip + j] = buf[j * C + c];
                          }
                        }
                      });
  } else {
    cpu::parallel_for(planes * R, std::max<int64_t>(1, cpu::kParallelGrain / std::max<int64_t>(C, 1)),
                      [&](int64_t r0, int64_t r1) {
                        std::vector<A> buf(static_cast<size_t>(C));
                        for (int64_t r = r0; r < r1; ++r) {
                          const int64_t plane = r / R, i = r % R;
                          cpu::fast::load_row(x.row(plane / H, plane % H, i), buf.data(), C);
                          for (int64_t strip = 0; strip < s.strips; ++strip) {
                            const int64_t c0 = strip * kStrip, n = std::min(kStrip, C - c0);
                            std::copy(buf.data() + c0, buf.data() + c0 + n,
                                      s.data.data() + ((plane * s.strips + strip) * R + i) * kStrip);
                          }
                        }
                      });
  }
  return s;
}

// A row stride of at least n floats whose byte size is an odd number of 64-byte lines, so
// consecutive rows of a block land in different L1 sets (see Strips).
inline int64_t padded_ld(int64_t n) {
  int64_t lines = (n + 15) / 16;
  if (lines % 2 == 0) ++lines;
  return lines * 16;
}

// C (m x n) (+)= op(A) (m x k) @ B[row0 : row0 + k, col0 : col0 + n] of one plane of strips
// (col0 a multiple of kStrip).
template <typename A>
void strips_matmul(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda, bool trans_a,
                   const Strips<A>& b, int64_t plane, int64_t col0, int64_t row0, A* c, int64_t ldc,
                   bool accumulate) {
  for (int64_t j = 0; j < n; j += kStrip) {
    block_matmul(m, std::min(kStrip, n - j), k, a, lda, b.at(plane, (col0 + j) / kStrip, row0), kStrip,
                 c + j, ldc, accumulate, trans_a);
  }
}

// One call's inputs: q, k, v (dense last axis), sizes, the mask and sinks; the outputs
// get their buffers.
template <typename T>
struct Call {
  using A = acc_t<T>;
  std::vector<array> in;
  Dims d;
  MaskInput<A> mask;
  array sinks;
  View4<T> q, k, v;
  size_t next = 3;  // index of the first input after the mask and the sinks
  Call(const std::vector<array>& raw, std::vector<array>& outputs, const AttentionParams& p)
      : in(with_dense_last(raw)), d(in), q(in[0]), k(in[1]), v(in[2]) {
    for (auto& o : outputs) o.allocate_row_contiguous();
    mask.kind = p.mask;
    mask.causal = p.causal;
    if (p.mask == MaskKind::boolean) mask.boolean = View4<bool>(in[next++]);
    else if (p.mask == MaskKind::additive) mask.additive = View4<A>(in[next++]);
    if (p.has_sinks) sinks = cpu::ensure_row_contiguous(in[next++]);
  }
  static std::vector<array> with_dense_last(const std::vector<array>& raw) {
    std::vector<array> in(raw);
    for (int i = 0; i < 3; ++i) in[i] = dense_last(raw[i]);
    return in;
  }
};

template <typename T>
void attention_forward(const std::vector<array>& raw, std::vector<array>& outputs,
                       const AttentionParams& p) {
  using A = acc_t<T>;
  const Call<T> call(raw, outputs, p);
  if (outputs[0].size() == 0) return;
  const Dims& d = call.d;
  const View4<T>&q = call.q, &k = call.k, &v = call.v;
  const double scale = p.scale;
  const bool causal = p.causal, has_sinks = p.has_sinks;
  // k^T (D, S) and v (S, Dv) per head as strips: made once, read by every query block.
  auto kt = make_strips<T, A>(k, d.B, d.Hkv, d.S, d.D, true);
  auto vs = make_strips<T, A>(v, d.B, d.Hkv, d.S, d.Dv, false);
  T* out = outputs[0].data<T>();
  A* lse = outputs[1].data<A>();
  const int64_t qblocks = (d.L + kQueryBlock - 1) / kQueryBlock;
  const A ninf = -std::numeric_limits<A>::infinity();
  cpu::parallel_for(d.B * d.Hq * qblocks, 1, [&](int64_t t0, int64_t t1) {
    std::vector<A> qs(static_cast<size_t>(kQueryBlock * d.D)), s(static_cast<size_t>(kQueryBlock * kKeyBlock));
    std::vector<A> o(static_cast<size_t>(kQueryBlock * d.Dv)), m(static_cast<size_t>(kQueryBlock));
    std::vector<A> l(static_cast<size_t>(kQueryBlock)), vmean;
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t bh = task / qblocks, b = bh / d.Hq, h = bh % d.Hq, hk = h / d.rep;
      const int64_t i0 = (task % qblocks) * kQueryBlock, rows = std::min(kQueryBlock, d.L - i0);
      for (int64_t r = 0; r < rows; ++r) {
        A* qr = qs.data() + r * d.D;
        cpu::fast::load_row(q.row(b, h, i0 + r), qr, d.D);
        for (int64_t c = 0; c < d.D; ++c) qr[c] *= A(scale);
      }
      // A sink is one more logit (value 0) in every row: the running max and sum start there.
      const A sink = has_sinks ? call.sinks.template data<A>()[h] : ninf;
      std::fill(m.begin(), m.end(), sink);
      std::fill(l.begin(), l.end(), has_sinks ? A(1) : A(0));
      std::fill(o.begin(), o.end(), A(0));
      const int64_t plane = b * d.Hkv + hk;
      const int64_t kend = causal ? d.causal_end(i0 + rows - 1) : d.S;
      for (int64_t j0 = 0; j0 < kend; j0 += kKeyBlock) {
        const int64_t cols = std::min(kKeyBlock, kend - j0);
        strips_matmul(rows, cols, d.D, qs.data(), d.D, false, kt, plane, j0, 0, s.data(), cols, false);
        call.mask.apply(d, b, h, i0, rows, j0, cols, s.data(), cols);
        for (int64_t r = 0; r < rows; ++r) {
          A* sr = s.data() + r * cols;
          const A mnew = std::max(m[r], cpu::fast::max_of(sr, cols));
          if (mnew == ninf) {  // nothing visible yet in this row
            std::fill(sr, sr + cols, A(0));
            continue;
          }
          for (int64_t c = 0; c < cols; ++c) sr[c] -= mnew;
          cpu::fast::exp_inplace(sr, cols);
          const A alpha = m[r] == ninf ? A(0) : std::exp(m[r] - mnew);
          l[r] = l[r] * alpha + cpu::fast::sum_of(sr, cols);
          if (alpha != A(1)) {
            A* orow = o.data() + r * d.Dv;
            for (int64_t c = 0; c < d.Dv; ++c) orow[c] *= alpha;
          }
          m[r] = mnew;
        }
        strips_matmul(rows, d.Dv, cols, s.data(), cols, false, vs, plane, 0, j0, o.data(), d.Dv, true);
      }
      vmean.clear();
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = i0 + r;
        A* orow = o.data() + r * d.Dv;
        A* lrow = lse + (b * d.Hq + h) * d.L + i;
        if (l[r] == A(0)) {
          // No visible key (and no sink): the mean of v over all keys, which a softmax of
          // equal (masked) scores gives.
          if (vmean.empty()) {
            vmean.assign(static_cast<size_t>(d.Dv), A(0));
            for (int64_t c = 0; c < d.Dv; ++c) {
              const A* col = vs.at(plane, c / kStrip, 0) + c % kStrip;
              for (int64_t j = 0; j < d.S; ++j) vmean[c] += col[j * kStrip];
            }
            for (auto& x : vmean) x = d.S ? x / A(d.S) : A(0);
          }
          std::copy(vmean.begin(), vmean.end(), orow);
          *lrow = ninf;
        } else {
          const A inv = A(1) / l[r];
          for (int64_t c = 0; c < d.Dv; ++c) orow[c] *= inv;
          *lrow = m[r] + std::log(l[r]);
        }
        cpu::fast::store_row(orow, out + ((b * d.Hq + h) * d.L + i) * d.Dv, d.Dv);
      }
    }
  });
}

// The backward pass, one task per (batch, query head): for each key block, for each query
// block that sees it, P = exp(q k^T * scale + mask - lse), then
//   dv += P^T dO,  dS = P o (dO v^T - delta),  dq += dS k * scale,  dk += dS^T q * scale,
// with delta_i = dO_i . O_i. dk and dv are kept per query head and summed over each key
// head's group at the end.
template <typename T>
void attention_backward(const std::vector<array>& raw, std::vector<array>& outputs,
                        const AttentionParams& p) {
  using A = acc_t<T>;
  const Call<T> call(raw, outputs, p);
  const Dims& d = call.d;
  const View4<T>&q = call.q, &k = call.k, &v = call.v;
  const double scale = p.scale;
  const bool causal = p.causal, has_sinks = p.has_sinks;
  size_t next = call.next;
  array out = cpu::ensure_row_contiguous(call.in[next++]);
  array lse_in = cpu::ensure_row_contiguous(call.in[next++]);
  array dout = cpu::ensure_row_contiguous(call.in[next++]);
  auto kt = make_strips<T, A>(k, d.B, d.Hkv, d.S, d.D, true);
  auto kr = make_strips<T, A>(k, d.B, d.Hkv, d.S, d.D, false);
  auto vt = make_strips<T, A>(v, d.B, d.Hkv, d.S, d.Dv, true);
  const T* os = out.data<T>();
  const T* dos = dout.data<T>();
  const A* lse = lse_in.data<A>();
  // With one query head per key head and A data, dk and dv go straight to the outputs.
  const bool direct = d.rep == 1 && std::is_same_v<T, A>;
  std::vector<A> dk_h, dv_h;
  if (!direct) {
    dk_h.assign(static_cast<size_t>(d.B * d.Hq * d.S * d.D), A(0));
    dv_h.assign(static_cast<size_t>(d.B * d.Hq * d.S * d.Dv), A(0));
  }
  A* dk_base = direct ? reinterpret_cast<A*>(outputs[1].data<T>()) : dk_h.data();
  A* dv_base = direct ? reinterpret_cast<A*>(outputs[2].data<T>()) : dv_h.data();
  std::vector<A> dsink_h(static_cast<size_t>(d.B * d.Hq), A(0));
  const A ninf = -std::numeric_limits<A>::infinity();
  const int64_t bq = kQueryBlock, bk = kKeyBlockBwd;
  cpu::parallel_for(d.B * d.Hq, 1, [&](int64_t t0, int64_t t1) {
    // q * scale and dO of the head, rows padded (they are the B operand of dk and dv).
    const int64_t ldq = padded_ld(d.D), ldo = padded_ld(d.Dv);
    std::vector<A> delta(static_cast<size_t>(d.L)), dq(static_cast<size_t>(d.L * d.D));
    std::vector<A> qs(static_cast<size_t>(d.L * ldq)), dob(static_cast<size_t>(d.L * ldo));
    std::vector<A> p(static_cast<size_t>(bq * bk)), dp(static_cast<size_t>(bq * bk)), tmp, unseen;
    for (int64_t bh = t0; bh < t1; ++bh) {
      const int64_t b = bh / d.Hq, h = bh % d.Hq, hk = h / d.rep;
      const A* lrow = lse + bh * d.L;
      A* dkh = dk_base + (direct ? (b * d.Hkv + hk) : bh) * d.S * d.D;
      A* dvh = dv_base + (direct ? (b * d.Hkv + hk) : bh) * d.S * d.Dv;
      if (direct) {
        std::fill(dkh, dkh + d.S * d.D, A(0));
        std::fill(dvh, dvh + d.S * d.Dv, A(0));
      }
      // This head's q * scale and dO as A, delta_i = dO_i . O_i; rows with no visible key
      // (lse = -inf) gave the mean of v, so their dO spreads evenly over dv.
      tmp.resize(static_cast<size_t>(d.Dv));
      unseen.assign(static_cast<size_t>(d.Dv), A(0));
      bool any_unseen = false;
      A dsink = 0;
      const A sink = has_sinks ? call.sinks.template data<A>()[h] : A(0);
      for (int64_t i = 0; i < d.L; ++i) {
        A* qi = qs.data() + i * ldq;
        cpu::fast::load_row(q.row(b, h, i), qi, d.D);
        for (int64_t c = 0; c < d.D; ++c) qi[c] *= A(scale);
        A* di = dob.data() + i * ldo;
        cpu::fast::load_row(dos + (bh * d.L + i) * d.Dv, di, d.Dv);
        cpu::fast::load_row(os + (bh * d.L + i) * d.Dv, tmp.data(), d.Dv);
        delta[i] = cpu::fast::dot_of(tmp.data(), di, d.Dv);
        if (lrow[i] == ninf) {
          any_unseen = true;
          for (int64_t c = 0; c < d.Dv; ++c) unseen[c] += di[c];
        }
        // d sink = -sum_i p_sink,i delta_i, p_sink,i = exp(sink - lse_i)
        if (has_sinks) dsink -= std::exp(sink - lrow[i]) * delta[i];
      }
      dsink_h[bh] = dsink;
      std::fill(dq.begin(), dq.end(), A(0));
      const int64_t plane = b * d.Hkv + hk;
      for (int64_t j0 = 0; j0 < d.S; j0 += bk) {
        const int64_t cols = std::min(bk, d.S - j0);
        A* dkb = dkh + j0 * d.D;
        A* dvb = dvh + j0 * d.Dv;
        // Causal: query rows before j0 - (S - L) see none of these keys.
        int64_t first = 0;
        if (causal) first = std::clamp<int64_t>(j0 - (d.S - d.L), 0, d.L) / bq * bq;
        for (int64_t i0 = first; i0 < d.L; i0 += bq) {
          const int64_t rows = std::min(bq, d.L - i0);
          const A* qb = qs.data() + i0 * ldq;
          const A* db = dob.data() + i0 * ldo;
          strips_matmul(rows, cols, d.D, qb, ldq, false, kt, plane, j0, 0, p.data(), cols, false);
          call.mask.apply(d, b, h, i0, rows, j0, cols, p.data(), cols);
          for (int64_t r = 0; r < rows; ++r) {
            A* pr = p.data() + r * cols;
            const A ls = lrow[i0 + r];
            if (ls == ninf) {
              std::fill(pr, pr + cols, A(0));
              continue;
            }
            for (int64_t c = 0; c < cols; ++c) pr[c] -= ls;
            cpu::fast::exp_inplace(pr, cols);
          }
          block_matmul(cols, d.Dv, rows, p.data(), cols, db, ldo, dvb, d.Dv, true, true);
          strips_matmul(rows, cols, d.Dv, db, ldo, false, vt, plane, j0, 0, dp.data(), cols, false);
          for (int64_t r = 0; r < rows; ++r) {
            A* dr = dp.data() + r * cols;
            const A* pr = p.data() + r * cols;
            const A dl = delta[i0 + r];
            for (int64_t c = 0; c < cols; ++c) dr[c] = pr[c] * (dr[c] - dl);
          }
          strips_matmul(rows, d.D, cols, dp.data(), cols, false, kr, plane, 0, j0, dq.data() + i0 * d.D,
                        d.D, true);
          block_matmul(cols, d.D, rows, dp.data(), cols, qb, ldq, dkb, d.D, true, true);
        }
      }
      if (any_unseen && d.S > 0) {
        for (auto& x : unseen) x /= A(d.S);
        for (int64_t j = 0; j < d.S; ++j) {
          for (int64_t c = 0; c < d.Dv; ++c) dvh[j * d.Dv + c] += unseen[c];
        }
      }
      for (auto& x : dq) x *= A(scale);
      cpu::fast::store_row(dq.data(), outputs[0].data<T>() + bh * d.L * d.D, d.L * d.D);
    }
  });
  if (!direct) {
    // Sum each key head's group of query heads.
    T* dks = outputs[1].data<T>();
    T* dvs = outputs[2].data<T>();
    cpu::parallel_for(d.B * d.Hkv, 1, [&](int64_t t0, int64_t t1) {
      std::vector<A> acc;
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t b = t / d.Hkv, hk = t % d.Hkv;
        for (int which = 0; which < 2; ++which) {
          const int64_t w = which ? d.Dv : d.D;
          const std::vector<A>& src = which ? dv_h : dk_h;
          acc.assign(static_cast<size_t>(d.S * w), A(0));
          for (int64_t r = 0; r < d.rep; ++r) {
            const A* s = src.data() + ((b * d.Hq + hk * d.rep + r) * d.S) * w;
            for (int64_t x = 0; x < d.S * w; ++x) acc[x] += s[x];
          }
          cpu::fast::store_row(acc.data(), (which ? dvs : dks) + t * d.S * w, d.S * w);
        }
      }
    });
  }
  if (has_sinks) {
    A* ds = outputs[3].data<A>();
    for (int64_t h = 0; h < d.Hq; ++h) {
      A s = 0;
      for (int64_t b = 0; b < d.B; ++b) s += dsink_h[b * d.Hq + h];
      ds[h] = s;
    }
  }
}

}  // namespace

void ScaledDotProductAttention::eval_cpu_multi(const std::vector<array>& inputs,
                                               std::vector<array>& outputs) {
  cpu::fast::dispatch_float("scaled_dot_product_attention", outputs[0].dtype(), [&](auto tag) {
    attention_forward<decltype(tag)>(inputs, outputs, params_);
  });
}

void ScaledDotProductAttentionVJP::eval_cpu_multi(const std::vector<array>& inputs,
                                                  std::vector<array>& outputs) {
  cpu::fast::dispatch_float("scaled_dot_product_attention", inputs[0].dtype(), [&](auto tag) {
    attention_backward<decltype(tag)>(inputs, outputs, params_);
  });
}

}  // namespace ember
