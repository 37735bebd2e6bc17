// CPU kernel of Matmul: BLAS gemm for float32 / float64 / complex64 (float16
// and bfloat16 through float32), a plain i-k-j loop for integers, bool and
// batches of tiny matrices. Operands whose matrices are row- or column-major
// go to BLAS in place (trans flags and leading dimensions); others are copied.
#include <algorithm>
#include <climits>
#include <optional>
#include <type_traits>

#include "ember/backend/common/strided.h"
#include "ember/backend/cpu/blas.h"
#include "ember/backend/cpu/copy.h"
#include "ember/backend/cpu/index.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/errors.h"
#include "ember/primitives/linalg.h"

namespace ember {

namespace {

constexpr int64_t kIntMax = INT_MAX;
// Below this many multiply-adds per matrix, a batch runs through the loop
// kernel spread over threads: a gemm call costs more than the work.
constexpr int64_t kSmallMatmul = 12 * 12 * 12;
// Multiply-adds per parallel_for chunk of the loop kernel.
constexpr int64_t kLoopGrain = 1 << 15;

// How BLAS can read a rows x cols matrix with element strides (sr, sc):
// row-major (trans = false, ld = sr) or column-major, which is the transpose
// of a row-major matrix (trans = true, ld = sc). A size-1 dimension may carry
// any stride, so it is ignored.
struct BlasLayout {
  bool trans;
  int64_t ld;
};

std::optional<BlasLayout> blas_layout(int64_t rows, int64_t cols, int64_t sr, int64_t sc) {
  const int64_t r = std::max<int64_t>(rows, 1), c = std::max<int64_t>(cols, 1);
  int64_t row_sc = cols <= 1 ? 1 : sc, row_sr = rows <= 1 ? c : sr;
  if (row_sc == 1 && row_sr >= c && row_sr <= kIntMax) return BlasLayout{false, row_sr};
  int64_t col_sr = rows <= 1 ? 1 : sr, col_sc = cols <= 1 ? r : sc;
  if (col_sr == 1 && col_sc >= r && col_sc <= kIntMax) return BlasLayout{true, col_sc};
  return std::nullopt;
}

// Where each operand's matrix starts for batch index i of the output: the
// operands keep their own batch dims, read with stride 0 where broadcast.
struct BatchPlan {
  Shape shape;
  Strides a, b;
  int64_t count = 1;

  BatchPlan(const array& a_in, const array& b_in, const array& out)
      : shape(out.shape().begin(), out.shape().end() - 2) {
    a = strides_of(a_in);
    b = strides_of(b_in);
    for (auto d : shape) count *= d;
  }
  Strides strides_of(const array& x) const {
    int nb = int(shape.size()), xb = x.ndim() - 2;
    Strides s(nb, 0);
    for (int d = 0; d < xb; ++d) {
      if (x.shape(d) != 1) s[nb - xb + d] = x.strides()[d];
    }
    return s;
  }
};

// Walks the batches in order from a start index, keeping the offsets
// incrementally (no division per matrix: it shows with many tiny matrices).
struct BatchCursor {
  const BatchPlan& plan;
  std::vector<int64_t> idx;
  int64_t oa = 0, ob = 0;

  BatchCursor(const BatchPlan& p, int64_t start) : plan(p), idx(p.shape.size(), 0) {
    for (int d = int(p.shape.size()) - 1; d >= 0; --d) {
      idx[d] = start % p.shape[d];
      start /= p.shape[d];
      oa += idx[d] * p.a[d];
      ob += idx[d] * p.b[d];
    }
  }
  void next() {
    for (int d = int(idx.size()) - 1; d >= 0; --d) {
      oa += plan.a[d];
      ob += plan.b[d];
      if (++idx[d] < plan.shape[d]) return;
      oa -= plan.a[d] * plan.shape[d];
      ob -= plan.b[d] * plan.shape[d];
      idx[d] = 0;
    }
  }
};

// c += a * b with numpy's wrap-around for integers (computed unsigned, so
// overflow is defined) and "or of ands" for bool.
template <typename T>
inline T madd(T c, T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return c | (a & b);
  } else if constexpr (std::is_integral_v<T>) {
    using U = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;
    return T(U(c) + U(a) * U(b));
  } else {
    return c + a * b;
  }
}

// One output row: c = a_row @ b, in k-j order so the inner loop runs over a
// row of b and vectorizes. NN > 0 fixes N at compile time (unrolled loops for
// batches of tiny matrices, where loop overhead would dominate).
template <typename T, int NN>
inline void loop_row(const T* a, int64_t sak, const T* b, int64_t sbk, T* __restrict c,
                     int64_t n_dynamic, int64_t K) {
  const int64_t N = NN > 0 ? NN : n_dynamic;
  std::fill_n(c, N, T(0));
  for (int64_t k = 0; k < K; ++k) {
    const T aik = a[k * sak];
    const T* __restrict bk = b + k * sbk;
    for (int64_t j = 0; j < N; ++j) c[j] = madd(c[j], aik, bk[j]);
  }
}

// out = a @ b with plain loops; rows of all batches are split over threads.
template <typename T>
void loop_matmul(array a, array b, array& out) {
  const int nd = out.ndim();
  const int64_t M = out.shape(nd - 2), N = out.shape(nd - 1), K = a.shape(-1);
  out.allocate_row_contiguous();
  if (out.size() == 0) return;
  // The inner loop wants unit stride along b's rows.
  if (N > 1 && b.strides().back() != 1) b = cpu::ensure_row_contiguous(b);
  BatchPlan plan(a, b, out);
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* pc = out.data<T>();
  const int64_t sam = a.strides()[a.ndim() - 2], sak = a.strides().back();
  const int64_t sbk = b.strides()[b.ndim() - 2];
  const int64_t grain = std::max<int64_t>(1, kLoopGrain / std::max<int64_t>(N * K, 1));
  auto run = [&](auto nn) {
    constexpr int NN = decltype(nn)::value;
    cpu::parallel_for(plan.count * M, grain, [&](int64_t begin, int64_t end) {
      // Rows [begin, end) of the stacked output, one batch matrix at a time.
      int64_t batch = begin / M;
      BatchCursor cur(plan, batch);
      for (int64_t r = begin; r < end; ++batch, cur.next()) {
        const int64_t stop = std::min(end, (batch + 1) * M);
        for (; r < stop; ++r) {
          loop_row<T, NN>(pa + cur.oa + (r - batch * M) * sam, sak, pb + cur.ob, sbk, pc + r * N,
                          N, K);
        }
      }
    });
  };
  switch (N) {
    case 1: return run(std::integral_constant<int, 1>{});
    case 2: return run(std::integral_constant<int, 2>{});
    case 3: return run(std::integral_constant<int, 3>{});
    case 4: return run(std::integral_constant<int, 4>{});
    case 8: return run(std::integral_constant<int, 8>{});
    default: return run(std::integral_constant<int, 0>{});
  }
}

// The one-gemm case: b is the same matrix for every batch (unbatched or
// broadcast) and a's rows over all batches are evenly spaced, so the batch
// folds into M. Returns the spacing of those rows.
std::optional<int64_t> folded_row_stride(const BatchPlan& plan, int64_t M, int64_t K,
                                         int64_t a_row_stride) {
  for (auto s : plan.b) {
    if (s != 0) return std::nullopt;
  }
  Shape shape = plan.shape;
  shape.push_back(M);
  Strides strides = plan.a;
  strides.push_back(a_row_stride);
  auto L = detail::collapse<1>(shape, {&strides});
  if (L.shape.size() != 1) return std::nullopt;
  int64_t s = L.shape[0] == 1 ? std::max<int64_t>(K, 1) : L.strides[0][0];
  if (s < std::max<int64_t>(K, 1) || s > kIntMax || plan.count * M > kIntMax) return std::nullopt;
  return s;
}

// out = a @ b through BLAS, for T = float, double, complex64.
template <typename T>
void gemm_matmul(array a, array b, array& out) {
  const int nd = out.ndim();
  const int64_t M = out.shape(nd - 2), N = out.shape(nd - 1), K = a.shape(-1);
  int64_t count = 1;
  for (int i = 0; i < nd - 2; ++i) count *= out.shape(i);
  if (count > 1 && M * N * K <= kSmallMatmul) return loop_matmul<T>(a, b, out);
  out.allocate_row_contiguous();
  if (out.size() == 0) return;
  T* pc = out.data<T>();
  if (K == 0) {
    std::fill_n(pc, out.size(), T(0));
    return;
  }
  // The op checked that M, N and K fit in int; a copy has leading dimension K or N.
  auto la = blas_layout(M, K, a.strides()[a.ndim() - 2], a.strides().back());
  if (!la) {
    a = cpu::ensure_row_contiguous(a);
    la = BlasLayout{false, K};
  }
  auto lb = blas_layout(K, N, b.strides()[b.ndim() - 2], b.strides().back());
  if (!lb) {
    b = cpu::ensure_row_contiguous(b);
    lb = BlasLayout{false, N};
  }
  BatchPlan plan(a, b, out);
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  if constexpr (!std::is_same_v<T, complex64_t>) {
    // Matrix-vector products (A @ x, x @ A) go to gemv, one per matrix.
    if ((N == 1 || M == 1) && std::max(M, N) > 1) {
      BatchCursor cur(plan, 0);
      for (int64_t i = 0; i < plan.count; ++i, cur.next()) {
        if (N == 1) {  // y (M) = A (M x K) @ x: x's elements are b's rows
          const int64_t incx = K == 1 ? 1 : b.strides()[b.ndim() - 2];
          cpu::gemv(la->trans, la->trans ? int(K) : int(M), la->trans ? int(M) : int(K), T(1),
                    pa + cur.oa, int(la->ld), pb + cur.ob, int(incx), T(0), pc + i * M, 1);
        } else {  // y (N) = x (K) @ B (K x N) = B^T @ x: x's elements are a's columns
          const int64_t incx = K == 1 ? 1 : a.strides().back();
          cpu::gemv(!lb->trans, lb->trans ? int(N) : int(K), lb->trans ? int(K) : int(N), T(1),
                    pb + cur.ob, int(lb->ld), pa + cur.oa, int(incx), T(0), pc + i * N, 1);
        }
      }
      return;
    }
  }
  if (!la->trans) {
    if (auto lda = folded_row_stride(plan, M, K, a.strides()[a.ndim() - 2])) {
      cpu::gemm(false, lb->trans, int(plan.count * M), int(N), int(K), T(1), pa, int(*lda), pb,
                int(lb->ld), T(0), pc, int(N));
      return;
    }
  }
  // One gemm per matrix; BLAS threads each call (never call it from a pool task).
  BatchCursor cur(plan, 0);
  for (int64_t i = 0; i < plan.count; ++i, cur.next()) {
    cpu::gemm(la->trans, lb->trans, int(M), int(N), int(K), T(1), pa + cur.oa, int(la->ld),
              pb + cur.ob, int(lb->ld), T(0), pc + i * M * N, int(N));
  }
}

// A row-contiguous float32 copy of x (for float16 / bfloat16 operands).
array to_float32(const array& x) {
  array y = array::placeholder(x.shape(), Dtype::float32);
  y.allocate_row_contiguous();
  cpu::copy_cast(x, y);
  return y;
}

}  // namespace

void Matmul::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& a = inputs[0];
  const array& b = inputs[1];
  switch (out.dtype()) {
    case Dtype::float32: return gemm_matmul<float>(a, b, out);
    case Dtype::float64: return gemm_matmul<double>(a, b, out);
    case Dtype::complex64: return gemm_matmul<complex64_t>(a, b, out);
    case Dtype::float16:
    case Dtype::bfloat16: {
      // BLAS has no half gemm: compute in float32 and round once at the end.
      array tmp = array::placeholder(out.shape(), Dtype::float32);
      gemm_matmul<float>(to_float32(a), to_float32(b), tmp);
      out.allocate_row_contiguous();
      cpu::copy_cast(tmp, out);
      return;
    }
    default:
      dispatch_dtype(out.dtype(), [&](auto v) {
        using T = decltype(v);
        if constexpr (std::is_integral_v<T>) {
          loop_matmul<T>(a, b, out);
        } else {
          throw type_error(msg("[matmul] Not supported for dtype ", dtype_name(out.dtype()), "."));
        }
      });
  }
}

}  // namespace ember

// ---- GatherMM, BlockMaskedMM, SegmentedMM: BLAS on the selected (masked, sliced) matrices,
// computed in float32 (float64 for float64), float16 / bfloat16 rounded once at the end.

namespace ember {

namespace {

// x as a row-contiguous array of the compute dtype (float32, or float64 for float64).
array as_compute(const array& x) {
  if (x.dtype() == Dtype::float64 || x.dtype() == Dtype::float32) {
    return cpu::ensure_row_contiguous(x);
  }
  return to_float32(x);
}

// Runs f(A{}) with A the compute type of dtype t, then writes the A result tmp into out.
template <typename F>
void with_compute(array& out, F&& f) {
  if (out.dtype() == Dtype::float64) {
    out.allocate_row_contiguous();
    f(double{}, out);
    return;
  }
  if (out.dtype() == Dtype::float32) {
    out.allocate_row_contiguous();
    f(float{}, out);
    return;
  }
  array tmp = array::placeholder(out.shape(), Dtype::float32);
  tmp.allocate_row_contiguous();
  f(float{}, tmp);
  out.allocate_row_contiguous();
  cpu::copy_cast(tmp, out);
}

template <typename A>
void small_gemm(int64_t M, int64_t N, int64_t K, const A* a, int64_t lda, const A* b, int64_t ldb,
                A* c, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i) std::fill_n(c + i * ldc, N, A(0));
    return;
  }
  cpu::gemm(false, false, int(M), int(N), int(K), A(1), a, int(lda), b, int(ldb), A(0), c,
            int(ldc));
}

int64_t count_matrices(const array& a) {
  int64_t n = 1;
  for (int i = 0; i + 2 < a.ndim(); ++i) n *= a.shape(i);
  return n;
}

// The values of a mask matrix (rows x cols at element offset `at`) as A (bool: 1 / 0).
template <typename A>
void read_mask(const array& m, int64_t at, std::vector<A>& dst) {
  const int nd = m.ndim();
  const int64_t r = m.shape(nd - 2), c = m.shape(nd - 1);
  const int64_t sr = m.strides()[nd - 2], sc = m.strides()[nd - 1];
  dst.resize(size_t(r * c));
  dispatch_dtype(m.dtype(), [&](auto v) {
    using T = decltype(v);
    if constexpr (std::is_same_v<T, complex64_t>) {
      throw type_error("[block_masked_mm] Masks cannot be complex.");
    } else {
      using Wide = std::conditional_t<std::is_same_v<T, double>, double, float>;
      const T* p = m.data<T>() + at;
      for (int64_t i = 0; i < r; ++i) {
        for (int64_t j = 0; j < c; ++j) dst[i * c + j] = A(Wide(p[i * sr + j * sc]));
      }
    }
  });
}

std::vector<int64_t> batch_offsets(const array& a) {
  Shape batch(a.shape().begin(), a.shape().end() - 2);
  Strides st(a.strides().begin(), a.strides().end() - 2);
  return cpu::offset_table(batch, st);
}

// Copies matrix (rows x cols, strides sr / sc) of A into dst, multiplying (or, for a bool
// mask, zeroing) each bs x bs block by its mask value.
template <typename A>
void masked_copy(const A* p, int64_t rows, int64_t cols, int64_t sr, int64_t sc,
                 const std::vector<A>* mask, int64_t mask_cols, bool select, int bs, A* dst) {
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      A v = p[i * sr + j * sc];
      if (mask) {
        A m = (*mask)[(i / bs) * mask_cols + j / bs];
        v = select ? (m != A(0) ? v : A(0)) : v * m;
      }
      dst[i * cols + j] = v;
    }
  }
}

}  // namespace

void GatherMM::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& a_in = inputs[0];
  const array& b_in = inputs[1];
  auto l = cpu::matrix_indices("gather_mm", inputs[2], count_matrices(a_in));
  auto r = cpu::matrix_indices("gather_mm", inputs[3], count_matrices(b_in));
  const int64_t M = out.shape(-2), N = out.shape(-1), K = a_in.shape(-1);
  with_compute(out, [&](auto v, array& dst) {
    using A = decltype(v);
    if (dst.size() == 0) return;
    array a = as_compute(a_in), b = as_compute(b_in);
    const A* pa = a.data<A>();
    const A* pb = b.data<A>();
    A* pc = dst.data<A>();
    // Consecutive positions reading consecutive matrices of a with one matrix of b (a sorted
    // mixture of experts) are one taller product.
    for (size_t p0 = 0; p0 < l.size();) {
      size_t p1 = p0 + 1;
      while (p1 < l.size() && r[p1] == r[p0] && l[p1] == l[p1 - 1] + 1) ++p1;
      small_gemm<A>(int64_t(p1 - p0) * M, N, K, pa + l[p0] * M * K, K, pb + r[p0] * K * N, N,
                    pc + p0 * M * N, N);
      p0 = p1;
    }
  });
}

void BlockMaskedMM::eval_cpu(const std::vector<array>& inputs, array& out) {
  const int bs = block_size_;
  const array& a_in = inputs[0];
  const array& b_in = inputs[1];
  const int64_t M = out.shape(-2), N = out.shape(-1), K = a_in.shape(-1);
  size_t i = 2;
  const array* mo = has_out_ ? &inputs[i++] : nullptr;
  const array* ml = has_operands_ ? &inputs[i++] : nullptr;
  const array* mr = has_operands_ ? &inputs[i++] : nullptr;
  with_compute(out, [&](auto v, array& dst) {
    using A = decltype(v);
    if (dst.size() == 0) return;
    array a = a_in.dtype() == dst.dtype() ? a_in : to_float32(a_in);
    array b = b_in.dtype() == dst.dtype() ? b_in : to_float32(b_in);
    auto ao = batch_offsets(a), bo = batch_offsets(b);
    std::vector<int64_t> oo, lo, ro;
    if (mo) oo = batch_offsets(*mo);
    if (ml) lo = batch_offsets(*ml), ro = batch_offsets(*mr);
    const int nd = a.ndim();
    std::vector<A> abuf(size_t(M * K)), bbuf(size_t(K * N)), mask_o, mask_l, mask_r;
    A* pc = dst.data<A>();
    for (size_t k = 0; k < ao.size(); ++k) {
      if (ml) read_mask(*ml, lo[k], mask_l), read_mask(*mr, ro[k], mask_r);
      const bool sel = ml && ml->dtype() == Dtype::bool_;
      masked_copy(a.data<A>() + ao[k], M, K, a.strides()[nd - 2], a.strides()[nd - 1],
                  ml ? &mask_l : nullptr, ml ? ml->shape(-1) : 0, sel, bs, abuf.data());
      masked_copy(b.data<A>() + bo[k], K, N, b.strides()[nd - 2], b.strides()[nd - 1],
                  mr ? &mask_r : nullptr, mr ? mr->shape(-1) : 0, sel, bs, bbuf.data());
      A* c = pc + int64_t(k) * M * N;
      small_gemm<A>(M, N, K, abuf.data(), K, bbuf.data(), N, c, N);
      if (mo) {
        read_mask(*mo, oo[k], mask_o);
        const bool osel = mo->dtype() == Dtype::bool_;
        const int64_t tn = mo->shape(-1);
        for (int64_t r = 0; r < M; ++r) {
          for (int64_t j = 0; j < N; ++j) {
            A m = mask_o[(r / bs) * tn + j / bs];
            A& y = c[r * N + j];
            y = osel ? (m != A(0) ? y : A(0)) : y * m;
          }
        }
      }
    }
  });
}

void SegmentedMM::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& seg = inputs[2];
  const int64_t M = out.shape(-2), N = out.shape(-1), K = inputs[0].shape(-1);
  // The segments' values as int64 (start, end) pairs, in order.
  std::vector<int64_t> bounds(size_t(seg.size()));
  auto offs = cpu::offset_table(seg.shape(), seg.strides());
  dispatch_dtype(seg.dtype(), [&](auto v) {
    using I = decltype(v);
    if constexpr (std::is_integral_v<I> && !std::is_same_v<I, bool>) {
      const I* p = seg.data<I>();
      for (size_t i = 0; i < bounds.size(); ++i) {
        bounds[i] = std::is_unsigned_v<I> && uint64_t(p[offs[i]]) > uint64_t(K) ? K
                                                                                  : int64_t(p[offs[i]]);
      }
    } else {
      throw type_error("[segmented_mm] segments must be integers.");
    }
  });
  with_compute(out, [&](auto v, array& dst) {
    using A = decltype(v);
    if (dst.size() == 0) return;
    array a = as_compute(inputs[0]), b = as_compute(inputs[1]);
    A* pc = dst.data<A>();
    for (size_t s = 0; s * 2 < bounds.size(); ++s) {
      const int64_t k0 = std::clamp<int64_t>(bounds[2 * s], 0, K);
      const int64_t k1 = std::clamp<int64_t>(bounds[2 * s + 1], k0, K);
      small_gemm<A>(M, N, k1 - k0, a.data<A>() + k0, K, b.data<A>() + k0 * N, N,
                    pc + int64_t(s) * M * N, N);
    }
  });
}

}  // namespace ember
