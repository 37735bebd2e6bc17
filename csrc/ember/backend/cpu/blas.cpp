// BLAS calls behind one header.
#include "ember/backend/cpu/blas.h"

#include <cstdint>

#if defined(EMBER_ACCELERATE)
#include <Accelerate/Accelerate.h>
#define EMBER_CBLAS(name) cblas_##name
#elif defined(EMBER_BLAS_PREFIXED)
#include <cblas.h>
#define EMBER_CBLAS(name) scipy_cblas_##name
#else
#include <cblas.h>
#define EMBER_CBLAS(name) cblas_##name
#endif

namespace ember::cpu {

namespace {

// Small products run on one BLAS thread: waking OpenBLAS's pool costs more than
// it saves below a few million multiply-adds, and on a loaded machine its
// spinning threads can make a 2 MFLOP product 10-50x slower.
constexpr int64_t kSingleThreadWork = int64_t(1) << 22;

// OpenBLAS has no per-call thread count in every build (scipy-openblas32 does
// not export the thread-local setter), so the global count is switched only
// when the size class changes. Calls are serialized by eval, so this is safe.
int configured_threads = -1;  // what the user (or OpenBLAS's default) asked for
int active_threads = -1;      // what OpenBLAS is set to now

struct SmallGemmThreads {
  explicit SmallGemmThreads(int64_t work) {
#if defined(EMBER_BLAS_PREFIXED)
    if (configured_threads < 0) configured_threads = active_threads = scipy_openblas_get_num_threads();
    int want = work < kSingleThreadWork ? 1 : configured_threads;
    if (want != active_threads) {
      scipy_openblas_set_num_threads(want);
      active_threads = want;
    }
#else
    (void)work;
#endif
  }
};

}  // namespace

void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc) {
  SmallGemmThreads threads(int64_t(m) * n * k);
  EMBER_CBLAS(sgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                     m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda,
          const double* b, int ldb, double beta, double* c, int ldc) {
  SmallGemmThreads threads(int64_t(m) * n * k);
  EMBER_CBLAS(dgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                     m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool ta, bool tb, int m, int n, int k, std::complex<float> alpha,
          const std::complex<float>* a, int lda, const std::complex<float>* b, int ldb,
          std::complex<float> beta, std::complex<float>* c, int ldc) {
  // Complex cblas passes scalars and matrices as void*.
  SmallGemmThreads threads(int64_t(m) * n * k);
  EMBER_CBLAS(cgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                     m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc);
}

void gemv(bool ta, int m, int n, float alpha, const float* a, int lda, const float* x, int incx,
          float beta, float* y, int incy) {
  SmallGemmThreads threads(int64_t(m) * n);
  EMBER_CBLAS(sgemv)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, m, n, alpha, a, lda, x, incx,
                     beta, y, incy);
}

void gemv(bool ta, int m, int n, double alpha, const double* a, int lda, const double* x,
          int incx, double beta, double* y, int incy) {
  SmallGemmThreads threads(int64_t(m) * n);
  EMBER_CBLAS(dgemv)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, m, n, alpha, a, lda, x, incx,
                     beta, y, incy);
}
void gemm_serial(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc) {
  EMBER_CBLAS(sgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                     m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm_serial(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda,
                 const double* b, int ldb, double beta, double* c, int ldc) {
  EMBER_CBLAS(dgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                     m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void blas_threads_for(int64_t work) { SmallGemmThreads threads(work); }

void blas_set_num_threads(int n) {
#if defined(EMBER_BLAS_PREFIXED)
  scipy_openblas_set_num_threads(n);
  configured_threads = active_threads = n;
#elif defined(EMBER_OPENBLAS)
  openblas_set_num_threads(n);
#else
  (void)n;  // Accelerate / generic cblas: no API (VECLIB_MAXIMUM_THREADS)
#endif
}

}  // namespace ember::cpu
