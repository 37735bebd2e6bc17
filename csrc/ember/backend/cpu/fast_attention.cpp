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

// An R x (CV * lanes) tile of C: R rows of A broadcast against CV vectors of each row of
// B, the sums held in registers for all k.
template <typename A, int R, int CV>
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
      const A av = a[r * lda + p];
      for (int v = 0; v < CV; ++v) s[r][v] += av * bv[v];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < CV; ++v) std::memcpy(c + r * ldc + v * W, &s[r][v], sizeof(V));
  }
}

template <typename A, int R, int CV>
EMBER_FAST_INLINE void rows_of_tiles(int64_t m, int64_t k, const A* a, int64_t lda, const A* b,
                                     int64_t ldb, A* c, int64_t ldc, bool accumulate) {
  int64_t i = 0;
  for (; i + R <= m; i += R) tile<A, R, CV>(k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, accumulate);
  for (; i < m; ++i) tile<A, 1, CV>(k, a + i * lda, lda, b, ldb, c + i * ldc, ldc, accumulate);
}

template <typename A, int R, int CV>
EMBER_FAST_INLINE void matmul_impl(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda,
                                   const A* b, int64_t ldb, A* c, int64_t ldc, bool accumulate) {
  constexpr int W = Vec<A>::lanes;
  int64_t j = 0;
  for (; j + CV * W <= n; j += CV * W) {
    rows_of_tiles<A, R, CV>(m, k, a, lda, b + j, ldb, c + j, ldc, accumulate);
  }
  for (; j + W <= n; j += W) rows_of_tiles<A, R, 1>(m, k, a, lda, b + j, ldb, c + j, ldc, accumulate);
  if (j == n) return;
  for (int64_t i = 0; i < m; ++i) {  // the last n % lanes columns
    A* ci = c + i * ldc;
    if (!accumulate) {
      for (int64_t jj = j; jj < n; ++jj) ci[jj] = 0;
    }
    for (int64_t p = 0; p < k; ++p) {
      const A av = a[i * lda + p];
      const A* bp = b + p * ldb;
      for (int64_t jj = j; jj < n; ++jj) ci[jj] += av * bp[jj];
    }
  }
}

template <typename A>
using MatmulFn = void (*)(int64_t, int64_t, int64_t, const A*, int64_t, const A*, int64_t, A*,
                          int64_t, bool);

// One build per instruction set; tiles sized to the register file (32 zmm: 8 x 2 vectors,
// 16 ymm: 6 x 1 64-byte vector, 16 xmm: 3 x 1).
#define EMBER_FAST_MATMUL(suffix, attr, R, CV)                                                      \
  template <typename A>                                                                           \
  attr void matmul_##suffix(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda, const A* b, \
                            int64_t ldb, A* c, int64_t ldc, bool accumulate) {                    \
    matmul_impl<A, R, CV>(m, n, k, a, lda, b, ldb, c, ldc, accumulate);                           \
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
                  int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  static const MatmulFn<float> fn = pick_matmul<float>();
  fn(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}
void block_matmul(int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b,
                  int64_t ldb, double* c, int64_t ldc, bool accumulate) {
  static const MatmulFn<double> fn = pick_matmul<double>();
  fn(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
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

// The mask and sinks of an attention call, read in the accumulation type.
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

// Packs rows [j0, j0 + n) of a (rows x cols) view into dst as A: transposed (cols x n, for
// q k^T) or as is (n x cols).
template <typename T, typename A>
void pack_rows(const T* base, int64_t row_stride, int64_t j0, int64_t n, int64_t cols, A* dst,
               bool transpose, std::vector<A>& tmp) {
  tmp.resize(static_cast<size_t>(cols));
  for (int64_t j = 0; j < n; ++j) {
    const T* src = base + (j0 + j) * row_stride;
    if (transpose) {
      cpu::fast::load_row(src, tmp.data(), cols);
      for (int64_t c = 0; c < cols; ++c) dst[c * n + j] = tmp[c];
    } else {
      cpu::fast::load_row(src, dst + j * cols, cols);
    }
  }
}

template <typename T>
void attention_forward(const std::vector<array>& raw, std::vector<array>& outputs, double scale,
                       bool causal, MaskKind kind, bool has_sinks) {
  using A = acc_t<T>;
  std::vector<array> in(raw);
  for (int i = 0; i < 3; ++i) in[i] = dense_last(raw[i]);
  const Dims d(in);
  for (auto& o : outputs) o.allocate_row_contiguous();
  MaskInput<A> mask;
  mask.kind = kind;
  mask.causal = causal;
  size_t next = 3;
  if (kind == MaskKind::boolean) mask.boolean = View4<bool>(in[next++]);
  else if (kind == MaskKind::additive) mask.additive = View4<A>(in[next++]);
  array sinks = has_sinks ? cpu::ensure_row_contiguous(in[next]) : array();
  const View4<T> q(in[0]), k(in[1]), v(in[2]);
  T* out = outputs[0].data<T>();
  A* lse = outputs[1].data<A>();
  if (outputs[0].size() == 0) return;
  const int64_t qblocks = (d.L + kQueryBlock - 1) / kQueryBlock;
  const A ninf = -std::numeric_limits<A>::infinity();
  cpu::parallel_for(d.B * d.Hq * qblocks, 1, [&](int64_t t0, int64_t t1) {
    std::vector<A> qs(static_cast<size_t>(kQueryBlock * d.D)), kt(static_cast<size_t>(d.D * kKeyBlock)), vb, s(static_cast<size_t>(kQueryBlock * kKeyBlock));
    std::vector<A> o(static_cast<size_t>(kQueryBlock * d.Dv)), m(static_cast<size_t>(kQueryBlock)), l(static_cast<size_t>(kQueryBlock)), tmp, vmean;
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t bh = task / qblocks, b = bh / d.Hq, h = bh % d.Hq, hk = h / d.rep;
      const int64_t i0 = (task % qblocks) * kQueryBlock, rows = std::min(kQueryBlock, d.L - i0);
      for (int64_t r = 0; r < rows; ++r) {
        cpu::fast::load_row(q.row(b, h, i0 + r), qs.data() + r * d.D, d.D);
        for (int64_t c = 0; c < d.D; ++c) qs[r * d.D + c] *= A(scale);
      }
      const A sink = has_sinks ? A(sinks.data<A>()[h]) : ninf;
      std::fill(m.begin(), m.end(), sink);
      std::fill(l.begin(), l.end(), has_sinks ? A(1) : A(0));
      std::fill(o.begin(), o.end(), A(0));
      const int64_t kend = causal ? d.causal_end(i0 + rows - 1) : d.S;
      for (int64_t j0 = 0; j0 < kend; j0 += kKeyBlock) {
        const int64_t cols = std::min(kKeyBlock, kend - j0);
        pack_rows(k.row(b, hk, 0), k.s2, j0, cols, d.D, kt.data(), true, tmp);
        block_matmul(rows, cols, d.D, qs.data(), d.D, kt.data(), cols, s.data(), cols, false);
        mask.apply(d, b, h, i0, rows, j0, cols, s.data(), cols);
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
        const A* vblk;
        int64_t ldv;
        if constexpr (std::is_same_v<T, A>) {
          vblk = v.row(b, hk, j0);
          ldv = v.s2;
        } else {
          vb.resize(static_cast<size_t>(cols * d.Dv));
          pack_rows(v.row(b, hk, 0), v.s2, j0, cols, d.Dv, vb.data(), false, tmp);
          vblk = vb.data();
          ldv = d.Dv;
        }
        block_matmul(rows, d.Dv, cols, s.data(), cols, vblk, ldv, o.data(), d.Dv, true);
      }
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = i0 + r;
        A* orow = o.data() + r * d.Dv;
        A* lrow = lse + (b * d.Hq + h) * d.L + i;
        if (l[r] == A(0)) {
          // No visible key (and no sink): the mean of v over all keys, as a softmax of equal
          // (masked) scores gives.
          if (vmean.empty()) {
            vmean.assign(static_cast<size_t>(d.Dv), A(0));
            tmp.resize(static_cast<size_t>(d.Dv));
            for (int64_t j = 0; j < d.S; ++j) {
              cpu::fast::load_row(v.row(b, hk, j), tmp.data(), d.Dv);
              for (int64_t c = 0; c < d.Dv; ++c) vmean[c] += tmp[c];
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
      vmean.clear();
    }
  });
}

// Transposes a (rows x cols) block into dst (cols x rows).
template <typename A>
void transpose_block(const A* src, int64_t rows, int64_t cols, A* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
  }
}

template <typename T>
void attention_backward(const std::vector<array>& raw, std::vector<array>& outputs, double scale,
                        bool causal, MaskKind kind, bool has_sinks) {
  using A = acc_t<T>;
  std::vector<array> in(raw);
  for (int i = 0; i < 3; ++i) in[i] = dense_last(raw[i]);
  const Dims d(in);
  for (auto& o : outputs) o.allocate_row_contiguous();
  MaskInput<A> mask;
  mask.kind = kind;
  mask.causal = causal;
  size_t next = 3;
  if (kind == MaskKind::boolean) mask.boolean = View4<bool>(in[next++]);
  else if (kind == MaskKind::additive) mask.additive = View4<A>(in[next++]);
  array sinks = has_sinks ? cpu::ensure_row_contiguous(in[next++]) : array();
  array out = cpu::ensure_row_contiguous(in[next++]);
  array lse_in = cpu::ensure_row_contiguous(in[next++]);
  array dout = cpu::ensure_row_contiguous(in[next++]);
  const View4<T> q(in[0]), k(in[1]), v(in[2]);
  const T* os = out.data<T>();
  const T* dos = dout.data<T>();
  const A* lse = lse_in.data<A>();
  // dk, dv per query head (summed over each key head's group below); with one query head
  // per key head and float32 data they go straight to the outputs.
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
    std::vector<A> delta(static_cast<size_t>(d.L)), dq(static_cast<size_t>(d.L * d.D)), qs(static_cast<size_t>(bq * d.D)), dob(static_cast<size_t>(bq * d.Dv));
    std::vector<A> kt(static_cast<size_t>(d.D * bk)), kr(static_cast<size_t>(bk * d.D)), vt(static_cast<size_t>(d.Dv * bk));
    std::vector<A> p(static_cast<size_t>(bq * bk)), pt(static_cast<size_t>(bk * bq)), dp(static_cast<size_t>(bq * bk)), tmp, tmp2, unseen;
    for (int64_t bh = t0; bh < t1; ++bh) {
      const int64_t b = bh / d.Hq, h = bh % d.Hq, hk = h / d.rep;
      const T* ob = os + bh * d.L * d.Dv;
      const T* dob_base = dos + bh * d.L * d.Dv;
      const A* lrow = lse + bh * d.L;
      A* dkh = dk_base + (direct ? (b * d.Hkv + hk) : bh) * d.S * d.D;
      A* dvh = dv_base + (direct ? (b * d.Hkv + hk) : bh) * d.S * d.Dv;
      if (direct) {
        std::fill(dkh, dkh + d.S * d.D, A(0));
        std::fill(dvh, dvh + d.S * d.Dv, A(0));
      }
      // delta_i = dO_i . O_i (the softmax backward's row term); rows with no visible key
      // (lse = -inf) gave the mean of v: their dO spreads evenly over dv.
      tmp.resize(static_cast<size_t>(d.Dv));
      tmp2.resize(static_cast<size_t>(d.Dv));
      unseen.assign(static_cast<size_t>(d.Dv), A(0));
      bool any_unseen = false;
      A dsink = 0;
      const A sink = has_sinks ? sinks.data<A>()[h] : A(0);
      for (int64_t i = 0; i < d.L; ++i) {
        cpu::fast::load_row(ob + i * d.Dv, tmp.data(), d.Dv);
        cpu::fast::load_row(dob_base + i * d.Dv, tmp2.data(), d.Dv);
        delta[i] = cpu::fast::dot_of(tmp.data(), tmp2.data(), d.Dv);
        if (lrow[i] == ninf) {
          any_unseen = true;
          for (int64_t c = 0; c < d.Dv; ++c) unseen[c] += tmp2[c];
        }
        if (has_sinks) dsink -= std::exp(sink - lrow[i]) * delta[i];
      }
      dsink_h[bh] = dsink;
      std::fill(dq.begin(), dq.end(), A(0));
      for (int64_t j0 = 0; j0 < d.S; j0 += bk) {
        const int64_t cols = std::min(bk, d.S - j0);
        pack_rows(k.row(b, hk, 0), k.s2, j0, cols, d.D, kt.data(), true, tmp);
        pack_rows(k.row(b, hk, 0), k.s2, j0, cols, d.D, kr.data(), false, tmp);
        pack_rows(v.row(b, hk, 0), v.s2, j0, cols, d.Dv, vt.data(), true, tmp);
        A* dkb = dkh + j0 * d.D;
        A* dvb = dvh + j0 * d.Dv;
        // Causal: query rows before j0 - (S - L) see none of these keys.
        int64_t first = 0;
        if (causal) first = std::clamp<int64_t>(j0 - (d.S - d.L), 0, d.L) / bq * bq;
        for (int64_t i0 = first; i0 < d.L; i0 += bq) {
          const int64_t rows = std::min(bq, d.L - i0);
          for (int64_t r = 0; r < rows; ++r) {
            cpu::fast::load_row(q.row(b, h, i0 + r), qs.data() + r * d.D, d.D);
            for (int64_t c = 0; c < d.D; ++c) qs[r * d.D + c] *= A(scale);
            cpu::fast::load_row(dob_base + (i0 + r) * d.Dv, dob.data() + r * d.Dv, d.Dv);
          }
          // P = exp(q k^T * scale + mask - lse)
          block_matmul(rows, cols, d.D, qs.data(), d.D, kt.data(), cols, p.data(), cols, false);
          mask.apply(d, b, h, i0, rows, j0, cols, p.data(), cols);
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
          // dv += P^T dO
          transpose_block(p.data(), rows, cols, pt.data());
          block_matmul(cols, d.Dv, rows, pt.data(), rows, dob.data(), d.Dv, dvb, d.Dv, true);
          // dS = P o (dO v^T - delta)
          block_matmul(rows, cols, d.Dv, dob.data(), d.Dv, vt.data(), cols, dp.data(), cols, false);
          for (int64_t r = 0; r < rows; ++r) {
            A* dr = dp.data() + r * cols;
            const A* pr = p.data() + r * cols;
            const A dl = delta[i0 + r];
            for (int64_t c = 0; c < cols; ++c) dr[c] = pr[c] * (dr[c] - dl);
          }
          // dq += dS k (times scale, at the end); dk += dS^T (q * scale)
          block_matmul(rows, d.D, cols, dp.data(), cols, kr.data(), d.D, dq.data() + i0 * d.D, d.D, true);
          transpose_block(dp.data(), rows, cols, pt.data());
          block_matmul(cols, d.D, rows, pt.data(), rows, qs.data(), d.D, dkb, d.D, true);
        }
      }
      if (any_unseen && d.S > 0) {
        for (auto& x : unseen) x /= A(d.S);
        for (int64_t j = 0; j < d.S; ++j) {
          for (int64_t c = 0; c < d.Dv; ++c) dvh[j * d.Dv + c] += unseen[c];
        }
      }
      for (auto& x : dq) x *= A(scale);
      T* dqs = outputs[0].data<T>() + bh * d.L * d.D;
      cpu::fast::store_row(dq.data(), dqs, d.L * d.D);
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
    attention_forward<decltype(tag)>(inputs, outputs, scale_, causal_, mask_, has_sinks_);
  });
}

void ScaledDotProductAttentionVJP::eval_cpu_multi(const std::vector<array>& inputs,
                                                  std::vector<array>& outputs) {
  cpu::fast::dispatch_float("scaled_dot_product_attention", inputs[0].dtype(), [&](auto tag) {
    attention_backward<decltype(tag)>(inputs, outputs, scale_, causal_, mask_, has_sinks_);
  });
}

}  // namespace ember
