// BLAS calls behind one header.
#include "ember/backend/cpu/blas.h"

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "ember/backend/cpu/threadpool.h"

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

// OpenBLAS has no per-call thread count in every build (scipy-openblas32 does not export the
// thread-local setter), so the global count is switched when the size class changes. Kernels
// run on several threads at once (the callers of eval, the stream workers), so the switch
// waits until no call is running under the old count: calls wanting the count in use share
// it, a call wanting another one waits for them to return. (Switching under a running call
// raced on OpenBLAS's thread pool.)
class ThreadCountGate {
 public:
  void enter(int64_t work) {
#if defined(EMBER_BLAS_PREFIXED)
    std::unique_lock<std::mutex> lock(mu_);
    if (configured_ < 0) configured_ = active_ = scipy_openblas_get_num_threads();
    const int want = work < kSingleThreadWork ? 1 : configured_;
    cv_.wait(lock, [&] { return running_ == 0 || active_ == want; });
    if (active_ != want) {
      scipy_openblas_set_num_threads(want);
      active_ = want;
    }
    ++running_;
#else
    (void)work;
#endif
  }

  void leave() {
#if defined(EMBER_BLAS_PREFIXED)
    std::lock_guard<std::mutex> lock(mu_);
    if (--running_ == 0) cv_.notify_all();
#endif
  }

  /// The user's count (set_num_threads), once no call is running.
  void configure(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return running_ == 0; });
#if defined(EMBER_BLAS_PREFIXED)
    scipy_openblas_set_num_threads(n);
#elif defined(EMBER_OPENBLAS)
    openblas_set_num_threads(n);
#endif
    configured_ = active_ = n;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int configured_ = -1;  // what the user (or OpenBLAS's default) asked for
  int active_ = -1;      // what OpenBLAS is set to now
  int running_ = 0;      // calls (holders) running under active_
};

ThreadCountGate& gate() {
  static ThreadCountGate* g = new ThreadCountGate();  // never destroyed: used by workers
  return *g;
}

thread_local int held_depth = 0;  // BlasThreads alive on this thread

}  // namespace

void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc) {
  BlasThreads threads(int64_t(m) * n * k);
  EMBER_CBLAS(sgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                     m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda,
          const double* b, int ldb, double beta, double* c, int ldc) {
  BlasThreads threads(int64_t(m) * n * k);
  EMBER_CBLAS(dgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                     m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool ta, bool tb, int m, int n, int k, std::complex<float> alpha,
          const std::complex<float>* a, int lda, const std::complex<float>* b, int ldb,
          std::complex<float> beta, std::complex<float>* c, int ldc) {
  // Complex cblas passes scalars and matrices as void*.
  BlasThreads threads(int64_t(m) * n * k);
  EMBER_CBLAS(cgemm)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                     m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc);
}

void gemv(bool ta, int m, int n, float alpha, const float* a, int lda, const float* x, int incx,
          float beta, float* y, int incy) {
  BlasThreads threads(int64_t(m) * n);
  EMBER_CBLAS(sgemv)(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, m, n, alpha, a, lda, x, incx,
                     beta, y, incy);
}

void gemv(bool ta, int m, int n, double alpha, const double* a, int lda, const double* x,
          int incx, double beta, double* y, int incy) {
  BlasThreads threads(int64_t(m) * n);
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

BlasThreads::BlasThreads(int64_t work) {
  if (held_depth++ > 0 || in_pool_task()) return;  // the count in place
  gate().enter(work);
  held_ = true;
}

BlasThreads::~BlasThreads() {
  --held_depth;
  if (held_) gate().leave();
}

// Accelerate / generic cblas have no API (VECLIB_MAXIMUM_THREADS): configure records it.
void blas_set_num_threads(int n) { gate().configure(n); }

}  // namespace ember::cpu
