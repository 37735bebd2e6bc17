// A persistent pool of worker threads and parallel_for. Kernels call
// parallel_for only above a size threshold: below it, threads cost more than
// they save. BLAS keeps its own threads; never call BLAS from inside a task.
#pragma once

#include <cstdint>
#include <functional>

#include "ember/api.h"

namespace ember {

/// Number of threads ember's kernels use (EMBER_NUM_THREADS or the cores).
EMBER_API int get_num_threads();
/// Sets ember's kernel threads and the BLAS library's threads.
EMBER_API void set_num_threads(int n);

namespace cpu {

/// Runs fn(begin, end) over [0, n) split into chunks of at least `grain`
/// items, on the pool plus the calling thread. Runs inline when one chunk.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace cpu
}  // namespace ember
