// BLAS calls behind one header.
#include "ember/backend/cpu/blas.h"

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

void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc) {
  EMBER_CBLAS(sgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                     m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda,
          const double* b, int ldb, double beta, double* c, int ldc) {
  EMBER_CBLAS(dgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                     m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool ta, bool tb, int m, int n, int k, std::complex<float> alpha,
          const std::complex<float>* a, int lda, const std::complex<float>* b, int ldb,
          std::complex<float> beta, std::complex<float>* c, int ldc) {
  // Complex cblas passes scalars and matrices as void*.
  EMBER_CBLAS(cgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                     m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc);
}

void blas_set_num_threads(int n) {
#if defined(EMBER_BLAS_PREFIXED)
  scipy_openblas_set_num_threads(n);
#elif defined(EMBER_OPENBLAS)
  openblas_set_num_threads(n);
#else
  (void)n;  // Accelerate / generic cblas: no API (VECLIB_MAXIMUM_THREADS)
#endif
}

}  // namespace ember::cpu
