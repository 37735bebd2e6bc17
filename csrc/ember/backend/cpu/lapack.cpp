// CPU kernels of the linalg primitives, over LAPACK's Fortran interface (the
// one place that names LAPACK symbols). LAPACK is column-major: a row-major
// matrix handed over as it is reads as its transpose, which each kernel uses
// (inv(A^T) = inv(A)^T, det(A^T) = det(A), a row-major lower triangle is a
// column-major upper one) instead of copying into the other layout.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <limits>
#include <vector>

#include "ember/backend/cpu/blas.h"
#include "ember/backend/cpu/copy.h"
#include "ember/errors.h"
#include "ember/primitives/lapack.h"

#if defined(EMBER_ACCELERATE)
#include <Accelerate/Accelerate.h>
#define EMBER_LAPACK(name) name##_
#else
#if defined(EMBER_BLAS_PREFIXED)
#define EMBER_LAPACK(name) scipy_##name##_
#else
#define EMBER_LAPACK(name) name##_
#endif
// Fortran LAPACK: every argument by pointer; the hidden lengths of the
// one-character string arguments are not passed (all callers of these
// routines do the same; they read one character).
extern "C" {
#define EMBER_DECLARE(T, p)                                                                   \
  void EMBER_LAPACK(p##getrf)(int*, int*, T*, int*, int*, int*);                              \
  void EMBER_LAPACK(p##getri)(int*, T*, int*, int*, T*, int*, int*);                          \
  void EMBER_LAPACK(p##getrs)(const char*, int*, int*, T*, int*, int*, T*, int*, int*);       \
  void EMBER_LAPACK(p##potrf)(const char*, int*, T*, int*, int*);                             \
  void EMBER_LAPACK(p##trtri)(const char*, const char*, int*, T*, int*, int*);                \
  void EMBER_LAPACK(p##trtrs)(const char*, const char*, const char*, int*, int*, T*, int*, T*, \
                              int*, int*);                                                    \
  void EMBER_LAPACK(p##gesdd)(const char*, int*, int*, T*, int*, T*, T*, int*, T*, int*, T*,  \
                              int*, int*, int*);                                              \
  void EMBER_LAPACK(p##syevd)(const char*, const char*, int*, T*, int*, T*, T*, int*, int*,   \
                              int*, int*);                                                    \
  void EMBER_LAPACK(p##geev)(const char*, const char*, int*, T*, int*, T*, T*, T*, int*, T*,  \
                             int*, T*, int*, int*);                                           \
  void EMBER_LAPACK(p##geqrf)(int*, int*, T*, int*, T*, T*, int*, int*);                      \
  void EMBER_LAPACK(p##orgqr)(int*, int*, int*, T*, int*, T*, T*, int*, int*);
EMBER_DECLARE(float, s)
EMBER_DECLARE(double, d)
#undef EMBER_DECLARE
}
#endif

namespace ember {

namespace {

// One overload per routine and type, so the kernels below are written once.
#define EMBER_WRAP(T, p)                                                                      \
  void getrf(int n, T* a, int* ipiv, int* info) {                                             \
    EMBER_LAPACK(p##getrf)(&n, &n, a, &n, ipiv, info);                                        \
  }                                                                                           \
  void getri(int n, T* a, int* ipiv, T* work, int lwork, int* info) {                         \
    EMBER_LAPACK(p##getri)(&n, a, &n, ipiv, work, &lwork, info);                              \
  }                                                                                           \
  void getrs(char trans, int n, int k, T* a, int* ipiv, T* b, int* info) {                    \
    EMBER_LAPACK(p##getrs)(&trans, &n, &k, a, &n, ipiv, b, &n, info);                         \
  }                                                                                           \
  void potrf(char uplo, int n, T* a, int* info) { EMBER_LAPACK(p##potrf)(&uplo, &n, a, &n, info); } \
  void trtri(char uplo, int n, T* a, int* info) {                                             \
    char diag = 'N';                                                                          \
    EMBER_LAPACK(p##trtri)(&uplo, &diag, &n, a, &n, info);                                    \
  }                                                                                           \
  void trtrs(char uplo, char trans, int n, int k, T* a, T* b, int* info) {                    \
    char diag = 'N';                                                                          \
    EMBER_LAPACK(p##trtrs)(&uplo, &trans, &diag, &n, &k, a, &n, b, &n, info);                 \
  }                                                                                           \
  void gesdd(char jobz, int m, int n, T* a, T* s, T* u, int ldu, T* vt, int ldvt, T* work,    \
             int lwork, int* iwork, int* info) {                                              \
    EMBER_LAPACK(p##gesdd)(&jobz, &m, &n, a, &m, s, u, &ldu, vt, &ldvt, work, &lwork, iwork,  \
                           info);                                                             \
  }                                                                                           \
  void syevd(char jobz, char uplo, int n, T* a, T* w, T* work, int lwork, int* iwork,         \
             int liwork, int* info) {                                                         \
    EMBER_LAPACK(p##syevd)(&jobz, &uplo, &n, a, &n, w, work, &lwork, iwork, &liwork, info);   \
  }                                                                                           \
  void geev(int n, T* a, T* wr, T* wi, T* vr, T* work, int lwork, int* info) {              \
    char no = 'N', jobvr = vr ? 'V' : 'N';                                                    \
    int one = 1, ldvr = vr ? n : 1;                                                           \
    EMBER_LAPACK(p##geev)(&no, &jobvr, &n, a, &n, wr, wi, nullptr, &one, vr, &ldvr, work,     \
                          &lwork, info);                                                      \
  }                                                                                           \
  void geqrf(int m, int n, T* a, T* tau, T* work, int lwork, int* info) {                     \
    EMBER_LAPACK(p##geqrf)(&m, &n, a, &m, tau, work, &lwork, info);                           \
  }                                                                                           \
  void orgqr(int m, int n, int k, T* a, T* tau, T* work, int lwork, int* info) {              \
    EMBER_LAPACK(p##orgqr)(&m, &n, &k, a, &m, tau, work, &lwork, info);                       \
  }
EMBER_WRAP(float, s)
EMBER_WRAP(double, d)
#undef EMBER_WRAP

// Calls f(T{}) for float32 / float64; the ops have promoted everything else.
template <typename F>
void dispatch_real(const char* op, Dtype t, F&& f) {
  if (t == Dtype::float32) return f(float{});
  if (t == Dtype::float64) return f(double{});
  throw type_error(msg("[", op, "] Needs float32 or float64, got ", dtype_name(t), "."));
}

int64_t batch_of(const array& a) {
  int64_t m = a.shape(-2) * a.shape(-1);
  return m == 0 ? 0 : a.size() / m;
}

// A LAPACK work-size answer (returned as a float) as an int.
template <typename T>
int work_size(T w) { return std::max(1, int(w)); }

// Zeros one triangle of the column-major n x n matrix m (the part LAPACK left alone).
template <typename T>
void zero_triangle(T* m, int n, bool keep_upper_cm) {
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i) {
      bool upper = i <= j;
      if (upper != keep_upper_cm && i != j) m[i + size_t(j) * n] = T(0);
    }
  }
}

// LAPACK's blocked routines call gemm inside: thread them by the matrix size.
// (held until the returned guard goes: see cpu::BlasThreads).
cpu::BlasThreads set_threads(const array& a) {
  const int64_t n = std::max(a.shape(-1), a.shape(-2));
  return cpu::BlasThreads(n * n * n);
}

[[noreturn]] void singular(const char* op, int64_t b) {
  throw std::invalid_argument(msg("[", op, "] Matrix ", b, " of the batch is singular."));
}

}  // namespace

void Inverse::eval_cpu(const std::vector<array>& inputs, array& out) {
  array a = cpu::ensure_row_contiguous(inputs[0]);
  out.allocate_row_contiguous();
  auto threads = set_threads(a);
  const char* op = kind_ == InverseKind::general ? "linalg.inv" : "linalg.tri_inv";
  dispatch_real(op, a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int n = int(a.shape(-1));
    const int64_t nn = int64_t(n) * n;
    T* y = out.data<T>();
    std::memcpy(y, a.data<T>(), size_t(a.size()) * sizeof(T));
    std::vector<int> ipiv(std::max(n, 1));
    std::vector<T> work(1);
    int lwork = -1, info = 0;
    for (int64_t b = 0; b < batch_of(a); ++b) {
      T* m = y + b * nn;
      if (kind_ == InverseKind::general) {
        getrf(n, m, ipiv.data(), &info);
        if (info > 0) singular(op, b);
        if (lwork < 0) {
          T q;
          getri(n, m, ipiv.data(), &q, -1, &info);
          lwork = work_size(q);
          work.resize(lwork);
        }
        getri(n, m, ipiv.data(), work.data(), lwork, &info);
      } else {
        // row-major lower = column-major upper
        bool cm_upper = kind_ == InverseKind::lower;
        trtri(cm_upper ? 'U' : 'L', n, m, &info);
        if (info > 0) singular(op, b);
        zero_triangle(m, n, cm_upper);
      }
    }
  });
}

void Solve::eval_cpu(const std::vector<array>& inputs, array& out) {
  array a = cpu::ensure_row_contiguous(inputs[0]);
  array rhs = cpu::ensure_row_contiguous(inputs[1]);
  out.allocate_row_contiguous();
  auto threads = set_threads(a);
  const char* op = kind_ == InverseKind::general ? "linalg.solve" : "linalg.solve_triangular";
  dispatch_real(op, a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int n = int(a.shape(-1)), k = int(rhs.shape(-1));
    const int64_t nn = int64_t(n) * n, nk = int64_t(n) * k;
    std::vector<T> m(nn), x(std::max<int64_t>(nk, 1));
    std::vector<int> ipiv(std::max(n, 1));
    const T* pa = a.data<T>();
    const T* pb = rhs.data<T>();
    T* y = out.data<T>();
    const int64_t batch = nn == 0 ? batch_of(rhs) : batch_of(a);
    for (int64_t b = 0; b < batch && nk > 0; ++b) {
      std::memcpy(m.data(), pa + b * nn, size_t(nn) * sizeof(T));
      // b (n, k) row-major is (k, n) column-major: transpose into LAPACK's (n, k).
      const T* src = pb + b * nk;
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < k; ++j) x[i + size_t(j) * n] = src[size_t(i) * k + j];
      }
      int info = 0;
      if (kind_ == InverseKind::general) {
        getrf(n, m.data(), ipiv.data(), &info);
        if (info > 0) singular(op, b);
        // The factored matrix is a^T: solve with its transpose.
        getrs('T', n, k, m.data(), ipiv.data(), x.data(), &info);
      } else {
        bool cm_upper = kind_ == InverseKind::lower;
        trtrs(cm_upper ? 'U' : 'L', 'T', n, k, m.data(), x.data(), &info);
        if (info > 0) singular(op, b);
      }
      T* dst = y + b * nk;
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < k; ++j) dst[size_t(i) * k + j] = x[i + size_t(j) * n];
      }
    }
  });
}

void Cholesky::eval_cpu(const std::vector<array>& inputs, array& out) {
  array a = cpu::ensure_row_contiguous(inputs[0]);
  out.allocate_row_contiguous();
  auto threads = set_threads(a);
  dispatch_real("linalg.cholesky", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int n = int(a.shape(-1));
    const int64_t nn = int64_t(n) * n;
    T* y = out.data<T>();
    std::memcpy(y, a.data<T>(), size_t(a.size()) * sizeof(T));
    for (int64_t b = 0; b < batch_of(a); ++b) {
      T* m = y + b * nn;
      // A row-major lower factor is a column-major upper one (a is symmetric).
      bool cm_upper = !upper_;
      int info = 0;
      potrf(cm_upper ? 'U' : 'L', n, m, &info);
      if (info > 0) {
        throw std::invalid_argument(msg("[linalg.cholesky] Matrix ", b,
                                        " of the batch is not positive definite."));
      }
      zero_triangle(m, n, cm_upper);
    }
  });
}

namespace {

// SVD of the column-major m x n matrix `a` (destroyed): s descending, and,
// when u / vt are given, the thin factors (m x r, r x n column-major).
template <typename T>
void svd_cm(int m, int n, T* a, T* s, T* u, T* vt) {
  const int r = std::min(m, n);
  char jobz = u ? 'S' : 'N';
  std::vector<int> iwork(8 * std::max(r, 1));
  int info = 0;
  T q;
  int ldu = std::max(m, 1), ldvt = std::max(r, 1);
  gesdd(jobz, m, n, a, s, u, ldu, vt, ldvt, &q, -1, iwork.data(), &info);
  std::vector<T> work(work_size(q));
  gesdd(jobz, m, n, a, s, u, ldu, vt, ldvt, work.data(), int(work.size()), iwork.data(), &info);
  if (info > 0) {
    throw std::invalid_argument("[linalg.svd] The SVD did not converge.");
  }
}

}  // namespace

void SVDValues::eval_cpu(const std::vector<array>& inputs, array& out) {
  array a = cpu::ensure_row_contiguous(inputs[0]);
  out.allocate_row_contiguous();
  auto threads = set_threads(a);
  dispatch_real("linalg.svd", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    // Row-major (m, n) is column-major (n, m): the transpose, same singular values.
    const int m = int(a.shape(-2)), n = int(a.shape(-1)), r = std::min(m, n);
    const int64_t mn = int64_t(m) * n;
    std::vector<T> buf(std::max<int64_t>(mn, 1));
    for (int64_t b = 0; b < batch_of(a) && r > 0; ++b) {
      std::memcpy(buf.data(), a.data<T>() + b * mn, size_t(mn) * sizeof(T));
      svd_cm<T>(n, m, buf.data(), out.data<T>() + b * r, nullptr, nullptr);
    }
  });
}

void PseudoInverse::eval_cpu(const std::vector<array>& inputs, array& out) {
  array a = cpu::ensure_row_contiguous(inputs[0]);
  out.allocate_row_contiguous();
  auto threads = set_threads(a);
  dispatch_real("linalg.pinv", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int m = int(a.shape(-2)), n = int(a.shape(-1)), r = std::min(m, n);
    const int64_t mn = int64_t(m) * n;
    T* y = out.data<T>();
    if (out.size() > 0) std::fill(y, y + out.size(), T(0));
    // The buffer is column-major B = A^T (n x m) = U S V^T, so A = V S U^T and
    // pinv(A) = U S^+ V^T (n x m): out[i, j] = sum_k U[i, k] / s_k * VT[k, j].
    std::vector<T> buf(std::max<int64_t>(mn, 1)), s(std::max(r, 1)),
        u(std::max<int64_t>(int64_t(n) * r, 1)), vt(std::max<int64_t>(int64_t(r) * m, 1));
    for (int64_t b = 0; b < batch_of(a) && r > 0; ++b) {
      std::memcpy(buf.data(), a.data<T>() + b * mn, size_t(mn) * sizeof(T));
      svd_cm<T>(n, m, buf.data(), s.data(), u.data(), vt.data());
      const T cutoff = T(std::max(m, n)) * std::numeric_limits<T>::epsilon() * s[0];
      T* dst = y + b * mn;
      for (int k = 0; k < r; ++k) {
        if (!(s[k] > cutoff)) break;  // descending: the rest are below too
        const T inv = T(1) / s[k];
        for (int i = 0; i < n; ++i) {
          const T ui = u[i + size_t(k) * n] * inv;
          for (int j = 0; j < m; ++j) dst[size_t(i) * m + j] += ui * vt[k + size_t(j) * r];
        }
      }
    }
  });
}

void EigvalsH::eval_cpu(const std::vector<array>& inputs, array& out) {
  array a = cpu::ensure_row_contiguous(inputs[0]);
  out.allocate_row_contiguous();
  auto threads = set_threads(a);
  dispatch_real("linalg.eigvalsh", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int n = int(a.shape(-1));
    const int64_t nn = int64_t(n) * n;
    std::vector<T> m(std::max<int64_t>(nn, 1)), w(std::max(n, 1));
    // The row-major lower triangle is the column-major upper one.
    char uplo = upper_ ? 'L' : 'U';
    char jobz = 'N';
    int info = 0, liwork = -1, lwork = -1;
    std::vector<T> work;
    std::vector<int> iwork;
    for (int64_t b = 0; b < batch_of(a); ++b) {
      std::memcpy(m.data(), a.data<T>() + b * nn, size_t(nn) * sizeof(T));
      if (lwork < 0) {
        T q;
        int iq;
        syevd(jobz, uplo, n, m.data(), w.data(), &q, -1, &iq, -1, &info);
        lwork = work_size(q);
        liwork = std::max(1, iq);
        work.resize(lwork);
        iwork.resize(liwork);
      }
      syevd(jobz, uplo, n, m.data(), w.data(), work.data(), lwork, iwork.data(), liwork, &info);
      if (info > 0) throw std::invalid_argument("[linalg.eigh] The eigensolver did not converge.");
      std::memcpy(out.data<T>() + b * n, w.data(), size_t(n) * sizeof(T));
    }
  });
}

void Eigvals::eval_cpu(const std::vector<array>& inputs, array& out) {
  array a = cpu::ensure_row_contiguous(inputs[0]);
  out.allocate_row_contiguous();
  auto threads = set_threads(a);
  dispatch_real("linalg.eigvals", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int n = int(a.shape(-1));
    const int64_t nn = int64_t(n) * n;
    std::vector<T> m(std::max<int64_t>(nn, 1)), wr(std::max(n, 1)), wi(std::max(n, 1));
    auto* y = out.data<complex64_t>();
    int info = 0, lwork = -1;
    std::vector<T> work;
    for (int64_t b = 0; b < batch_of(a); ++b) {
      std::memcpy(m.data(), a.data<T>() + b * nn, size_t(nn) * sizeof(T));
      if (lwork < 0) {
        T q;
        geev(n, m.data(), wr.data(), wi.data(), nullptr, &q, -1, &info);
        lwork = work_size(q);
        work.resize(lwork);
      }
      geev(n, m.data(), wr.data(), wi.data(), nullptr, work.data(), lwork, &info);
      if (info > 0) throw std::invalid_argument("[linalg.eigvals] The QR algorithm did not converge.");
      for (int i = 0; i < n; ++i) y[b * n + i] = complex64_t(float(wr[i]), float(wi[i]));
    }
  });
}

void Determinant::eval_cpu(const std::vector<array>& inputs, array& out) {
  array a = cpu::ensure_row_contiguous(inputs[0]);
  out.allocate_row_contiguous();
  auto threads = set_threads(a);
  dispatch_real("linalg.det", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int n = int(a.shape(-1));
    const int64_t nn = int64_t(n) * n;
    std::vector<T> m(std::max<int64_t>(nn, 1));
    std::vector<int> ipiv(std::max(n, 1));
    T* y = out.data<T>();
    for (int64_t b = 0; b < out.size(); ++b) {
      if (n == 0) {
        y[b] = T(1);
        continue;
      }
      std::memcpy(m.data(), a.data<T>() + b * nn, size_t(nn) * sizeof(T));
      int info = 0;
      getrf(n, m.data(), ipiv.data(), &info);
      // det = prod(diag(U)) * (-1)^(number of row swaps); a singular matrix
      // has a zero on U's diagonal, so its determinant comes out 0.
      T d = T(1);
      for (int i = 0; i < n; ++i) {
        d *= m[i + size_t(i) * n];
        if (ipiv[i] != i + 1) d = -d;
      }
      y[b] = d;
    }
  });
}

// ---- multi-output kernels ----

namespace {

// Row-major (m, n) matrix src into a column-major buffer dst (m rows), and back.
template <typename T>
void to_col_major(const T* src, int m, int n, T* dst) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) dst[i + size_t(j) * m] = src[size_t(i) * n + j];
  }
}
template <typename T>
void from_col_major(const T* src, int m, int n, T* dst) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) dst[size_t(i) * n + j] = src[i + size_t(j) * m];
  }
}

}  // namespace

void Eigh::eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) {
  array a = cpu::ensure_row_contiguous(inputs[0]);
  for (auto& o : outputs) o.allocate_row_contiguous();
  auto threads = set_threads(a);
  dispatch_real("linalg.eigh", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int n = int(a.shape(-1));
    const int64_t nn = int64_t(n) * n;
    std::vector<T> m(std::max<int64_t>(nn, 1));
    char uplo = upper_ ? 'L' : 'U';  // the row-major lower triangle is the column-major upper
    int info = 0, lwork = -1, liwork = -1;
    std::vector<T> work;
    std::vector<int> iwork;
    for (int64_t b = 0; b < batch_of(a); ++b) {
      std::memcpy(m.data(), a.data<T>() + b * nn, size_t(nn) * sizeof(T));
      T* w = outputs[0].data<T>() + b * n;
      if (lwork < 0) {
        T q;
        int iq;
        syevd('V', uplo, n, m.data(), w, &q, -1, &iq, -1, &info);
        lwork = work_size(q);
        liwork = std::max(1, iq);
        work.resize(lwork);
        iwork.resize(liwork);
      }
      syevd('V', uplo, n, m.data(), w, work.data(), lwork, iwork.data(), liwork, &info);
      if (info > 0) throw std::invalid_argument("[linalg.eigh] The eigensolver did not converge.");
      from_col_major(m.data(), n, n, outputs[1].data<T>() + b * nn);
    }
  });
}

void SlogDet::eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) {
  array a = cpu::ensure_row_contiguous(inputs[0]);
  for (auto& o : outputs) o.allocate_row_contiguous();
  auto threads = set_threads(a);
  dispatch_real("linalg.slogdet", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int n = int(a.shape(-1));
    const int64_t nn = int64_t(n) * n;
    std::vector<T> m(std::max<int64_t>(nn, 1));
    std::vector<int> ipiv(std::max(n, 1));
    T* sign = outputs[0].data<T>();
    T* logabs = outputs[1].data<T>();
    for (int64_t b = 0; b < outputs[0].size(); ++b) {
      T s = T(1), l = T(0);
      if (n > 0) {
        std::memcpy(m.data(), a.data<T>() + b * nn, size_t(nn) * sizeof(T));
        int info = 0;
        getrf(n, m.data(), ipiv.data(), &info);
        for (int i = 0; i < n; ++i) {
          const T d = m[i + size_t(i) * n];
          if (ipiv[i] != i + 1) s = -s;
          if (d < 0) s = -s;
          l += std::log(std::abs(d));  // -inf at a zero pivot (numpy: sign 0, -inf)
        }
        if (std::isinf(l) && l < 0) s = T(0);
      }
      sign[b] = s;
      logabs[b] = l;
    }
  });
}

void QR::eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) {
  array a = cpu::ensure_row_contiguous(inputs[0]);
  for (auto& o : outputs) o.allocate_row_contiguous();
  auto threads = set_threads(a);
  dispatch_real("linalg.qr", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int m = int(a.shape(-2)), n = int(a.shape(-1)), k = std::min(m, n);
    const int64_t mn = int64_t(m) * n;
    std::vector<T> buf(std::max<int64_t>(mn, 1)), tau(std::max(k, 1)), r(std::max<int64_t>(int64_t(k) * n, 1));
    std::vector<T> work;
    int lwork = -1, info = 0;
    for (int64_t b = 0; b < batch_of(a) && k > 0; ++b) {
      to_col_major(a.data<T>() + b * mn, m, n, buf.data());
      if (lwork < 0) {
        T q1, q2;
        geqrf(m, n, buf.data(), tau.data(), &q1, -1, &info);
        orgqr(m, k, k, buf.data(), tau.data(), &q2, -1, &info);
        lwork = std::max(work_size(q1), work_size(q2));
        work.resize(lwork);
      }
      geqrf(m, n, buf.data(), tau.data(), work.data(), lwork, &info);
      // R: the upper triangle of the first k rows (row-major k x n).
      T* rr = outputs[1].data<T>() + b * int64_t(k) * n;
      for (int i = 0; i < k; ++i) {
        for (int j = 0; j < n; ++j) rr[size_t(i) * n + j] = j >= i ? buf[i + size_t(j) * m] : T(0);
      }
      orgqr(m, k, k, buf.data(), tau.data(), work.data(), lwork, &info);
      from_col_major(buf.data(), m, k, outputs[0].data<T>() + b * int64_t(m) * k);
    }
  });
}

void SVD::eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) {
  array a = cpu::ensure_row_contiguous(inputs[0]);
  for (auto& o : outputs) o.allocate_row_contiguous();
  auto threads = set_threads(a);
  dispatch_real("linalg.svd", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int m = int(a.shape(-2)), n = int(a.shape(-1)), r = std::min(m, n);
    const int64_t mn = int64_t(m) * n;
    // The buffer is B = A^T (n x m, column-major) = Ub S Vbt, so A = Vbt^T S Ub^T: U_A
    // read row-major is Vbt's column-major memory, and Vt_A is Ub's.
    std::vector<T> buf(std::max<int64_t>(mn, 1));
    std::vector<int> iwork(8 * std::max(r, 1));
    std::vector<T> work;
    int lwork = -1, info = 0;
    for (int64_t b = 0; b < batch_of(a); ++b) {
      T* u = outputs[0].data<T>() + b * int64_t(m) * m;
      T* s = outputs[1].data<T>() + b * r;
      T* vt = outputs[2].data<T>() + b * int64_t(n) * n;
      if (r == 0) {
        // An empty matrix: U and Vt are identities.
        for (int i = 0; i < m; ++i) for (int j = 0; j < m; ++j) u[size_t(i) * m + j] = T(i == j);
        for (int i = 0; i < n; ++i) for (int j = 0; j < n; ++j) vt[size_t(i) * n + j] = T(i == j);
        continue;
      }
      std::memcpy(buf.data(), a.data<T>() + b * mn, size_t(mn) * sizeof(T));
      if (lwork < 0) {
        T q;
        gesdd('A', n, m, buf.data(), s, vt, n, u, m, &q, -1, iwork.data(), &info);
        lwork = work_size(q);
        work.resize(lwork);
      }
      gesdd('A', n, m, buf.data(), s, vt, n, u, m, work.data(), lwork, iwork.data(), &info);
      if (info > 0) throw std::invalid_argument("[linalg.svd] The SVD did not converge.");
    }
  });
}

void Eig::eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) {
  array a = cpu::ensure_row_contiguous(inputs[0]);
  for (auto& o : outputs) o.allocate_row_contiguous();
  auto threads = set_threads(a);
  dispatch_real("linalg.eig", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int n = int(a.shape(-1));
    const int64_t nn = int64_t(n) * n;
    std::vector<T> m(std::max<int64_t>(nn, 1)), vr(std::max<int64_t>(nn, 1)), wr(std::max(n, 1)),
        wi(std::max(n, 1));
    std::vector<T> work;
    int lwork = -1, info = 0;
    for (int64_t b = 0; b < batch_of(a); ++b) {
      to_col_major(a.data<T>() + b * nn, n, n, m.data());
      if (lwork < 0) {
        T q;
        geev(n, m.data(), wr.data(), wi.data(), vr.data(), &q, -1, &info);
        lwork = work_size(q);
        work.resize(lwork);
      }
      geev(n, m.data(), wr.data(), wi.data(), vr.data(), work.data(), lwork, &info);
      if (info > 0) throw std::invalid_argument("[linalg.eig] The QR algorithm did not converge.");
      auto* w = outputs[0].data<complex64_t>() + b * n;
      auto* v = outputs[1].data<complex64_t>() + b * nn;
      // A complex pair (wi > 0 then < 0) stores its eigenvector as two real columns
      // j, j + 1: v_j = re + i im, v_{j+1} = re - i im. Columns are unit norm already.
      for (int j = 0; j < n; ++j) {
        w[j] = complex64_t(float(wr[j]), float(wi[j]));
        if (wi[j] != T(0) && j + 1 < n) {
          for (int i = 0; i < n; ++i) {
            const T re = vr[i + size_t(j) * n], im = vr[i + size_t(j + 1) * n];
            v[size_t(i) * n + j] = complex64_t(float(re), float(im));
            v[size_t(i) * n + j + 1] = complex64_t(float(re), float(-im));
          }
          w[j + 1] = complex64_t(float(wr[j + 1]), float(wi[j + 1]));
          ++j;
        } else {
          for (int i = 0; i < n; ++i) v[size_t(i) * n + j] = complex64_t(float(vr[i + size_t(j) * n]), 0.0f);
        }
      }
    }
  });
}

void LUFactor::eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) {
  array a = cpu::ensure_row_contiguous(inputs[0]);
  for (auto& o : outputs) o.allocate_row_contiguous();
  auto threads = set_threads(a);
  dispatch_real("linalg.lu", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int n = int(a.shape(-1));
    const int64_t nn = int64_t(n) * n;
    std::vector<T> m(std::max<int64_t>(nn, 1));
    std::vector<int> ipiv(std::max(n, 1));
    std::vector<uint32_t> perm(std::max(n, 1));
    for (int64_t b = 0; b < batch_of(a); ++b) {
      to_col_major(a.data<T>() + b * nn, n, n, m.data());
      int info = 0;
      getrf(n, m.data(), ipiv.data(), &info);  // a zero pivot (info > 0) still factors
      from_col_major(m.data(), n, n, outputs[0].data<T>() + b * nn);
      uint32_t* piv = outputs[1].data<uint32_t>() + b * n;
      for (int i = 0; i < n; ++i) perm[i] = uint32_t(i);
      for (int i = 0; i < n; ++i) {
        piv[i] = uint32_t(ipiv[i] - 1);
        std::swap(perm[i], perm[piv[i]]);
      }
      // perm is the row order with a[perm] = L U; mlx's P is its inverse: a = (L U)[P].
      uint32_t* inv = outputs[2].data<uint32_t>() + b * n;
      for (int i = 0; i < n; ++i) inv[perm[i]] = uint32_t(i);
    }
  });
}

}  // namespace ember
