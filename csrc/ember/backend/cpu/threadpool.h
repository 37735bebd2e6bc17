// A persistent pool of worker threads and parallel_for. Kernels call
// parallel_for only above a size threshold: below it, threads cost more than
// they save. BLAS keeps its own threads; never call BLAS from inside a task.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include "ember/api.h"

namespace ember {

/// Number of threads ember's kernels use (EMBER_NUM_THREADS or the cores).
EMBER_API int get_num_threads();
/// Sets ember's kernel threads and the BLAS library's threads.
EMBER_API void set_num_threads(int n);

namespace cpu {

/// True on a pool worker, and on a caller while it runs its share of a parallel_for.
bool in_pool_task();

/// The pool's side of parallel_for (below).
void parallel_run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

/// Runs fn(begin, end) over [0, n) on the pool plus the calling thread, in at most
/// ceil(n / grain) chunks (so each holds grain / 2 items or more). Runs inline when n <= grain
/// (without wrapping fn in a std::function: small ops pay nothing here), inside another
/// parallel_for, or while another thread's job holds the pool.
template <typename F>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
  if (n <= 0) return;
  if (n <= grain || n == 1) {
    fn(int64_t(0), n);
    return;
  }
  parallel_run(n, grain, std::function<void(int64_t, int64_t)>(std::ref(fn)));
}

}  // namespace cpu
}  // namespace ember
