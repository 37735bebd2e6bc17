// The one place that names BLAS symbols. scipy-openblas32 prefixes every
// symbol with "scipy_" (so it never clashes with numpy's copy); a system
// cblas or Accelerate uses the plain names. EMBER_BLAS_PREFIXED selects.
#pragma once

#include <complex>
#include <cstdint>

namespace ember::cpu {

/// C = alpha * op(A) @ op(B) + beta * C, row-major, float32 / float64 /
/// complex64. Sizes and leading dimensions are int (LP64 BLAS): callers
/// check that theirs fit.
void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc);
void gemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a, int lda,
          const double* b, int ldb, double beta, double* c, int ldc);
void gemm(bool trans_a, bool trans_b, int m, int n, int k, std::complex<float> alpha,
          const std::complex<float>* a, int lda, const std::complex<float>* b, int ldb,
          std::complex<float> beta, std::complex<float>* c, int ldc);
/// y = alpha * op(A) @ x + beta * y for a row-major m x n matrix A (float32 / float64):
/// matrix-vector products, which BLAS runs at the memory bandwidth (a gemm with one
/// column does not).
void gemv(bool trans_a, int m, int n, float alpha, const float* a, int lda, const float* x,
          int incx, float beta, float* y, int incy);
void gemv(bool trans_a, int m, int n, double alpha, const double* a, int lda, const double* x,
          int incx, double beta, double* y, int incy);
/// The float32 / float64 gemm on the calling thread only, leaving BLAS's thread setting
/// alone: for a kernel that spreads many small products over ember's pool itself (the one
/// exception to "no BLAS inside a task"). Hold BlasThreads(0) around its parallel_for, so
/// BLAS runs each call where it is made instead of starting its own threads.
void gemm_serial(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                 int lda, const float* b, int ldb, float beta, float* c, int ldc);
void gemm_serial(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a,
                 int lda, const double* b, int ldb, double beta, double* c, int ldc);
void blas_set_num_threads(int n);
/// While alive, OpenBLAS's thread count is the one for a BLAS / LAPACK call of about `work`
/// multiply-adds, as gemm picks for itself (one thread for small ones), so a LAPACK call
/// does not inherit the count of whatever gemm ran last. The count is one process-wide
/// setting and kernels run on several threads at once (evals, stream workers): a holder
/// that needs another count than the one in use waits until the calls running under it
/// have returned. Nested holders on a thread, and pool tasks, use the count in place.
class BlasThreads {
 public:
  explicit BlasThreads(int64_t work);
  ~BlasThreads();
  BlasThreads(const BlasThreads&) = delete;
  BlasThreads& operator=(const BlasThreads&) = delete;

 private:
  bool held_ = false;
};

}  // namespace ember::cpu
