// Groups, init and is_available of ember::distributed, and the elementwise reductions the
// backends share.
#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <type_traits>

#include "ember/distributed.h"
#include "ember/distributed/comm.h"
#include "ember/errors.h"

namespace ember::distributed {

int Group::rank() const { return comm_ ? comm_->rank() : 0; }
int Group::size() const { return comm_ ? comm_->size() : 1; }

Group Group::split(int color, int key) const {
  if (!comm_) return Group();  // a group of one splits into itself
  return Group(comm_->split(color, key));
}

namespace {

enum class Known { any, ring, not_built };

Known check_backend(const std::string& backend, const char* op) {
  if (backend == "any") return Known::any;
  if (backend == "ring") return Known::ring;
  if (backend == "mpi" || backend == "nccl" || backend == "jaccl") return Known::not_built;
  throw std::invalid_argument(msg("[", op, "] Unknown backend \"", backend,
                                  "\"; expected one of \"any\", \"ring\", \"mpi\", \"nccl\", "
                                  "\"jaccl\"."));
}

std::mutex& init_mu() {
  static std::mutex* m = new std::mutex();
  return *m;
}
// The global group once a backend formed it (never destroyed: its sockets close at exit).
std::shared_ptr<detail::Comm>& global_comm() {
  static auto* c = new std::shared_ptr<detail::Comm>();
  return *c;
}

}  // namespace

bool is_available(const std::string& backend) {
  return check_backend(backend, "is_available") != Known::not_built;
}

Group init(bool strict, const std::string& backend) {
  Known k = check_backend(backend, "init");
  std::lock_guard<std::mutex> lock(init_mu());
  if (global_comm()) return Group(global_comm());
  if (k == Known::not_built) {
    if (strict) {
      throw std::runtime_error(msg("[init] The \"", backend,
                                   "\" backend is not built into ember; the available one is "
                                   "\"ring\" (TCP sockets)."));
    }
    return Group();
  }
  auto comm = detail::ring_init();
  if (comm) {
    global_comm() = comm;
    return Group(comm);
  }
  if (strict && (std::getenv("MLX_RANK") == nullptr || std::getenv("MLX_HOSTFILE") == nullptr)) {
    throw std::runtime_error(
        "[init] Cannot form a group with the ring backend: MLX_RANK and MLX_HOSTFILE are not "
        "set. Start the processes with `python -m ember.launch -n N script.py`.");
  }
  return Group();  // no configuration, or a hostfile of one rank
}

namespace detail {

namespace {
template <typename T>
void reduce_typed(T* acc, const T* x, int64_t n, Reduce r) {
  if constexpr (std::is_same_v<T, bool>) {
    for (int64_t i = 0; i < n; ++i) acc[i] = r == Reduce::min ? (acc[i] && x[i]) : (acc[i] || x[i]);
  } else if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    for (int64_t i = 0; i < n; ++i) {
      float a = float(acc[i]), b = float(x[i]);
      acc[i] = T(r == Reduce::sum ? a + b : (r == Reduce::max ? std::max(a, b) : std::min(a, b)));
    }
  } else if constexpr (std::is_same_v<T, complex64_t>) {
    for (int64_t i = 0; i < n; ++i) acc[i] = acc[i] + x[i];  // max / min are refused by the ops
  } else {
    switch (r) {
      case Reduce::sum:
        for (int64_t i = 0; i < n; ++i) acc[i] = T(acc[i] + x[i]);
        break;
      case Reduce::max:
        // NaN wins, as in ember's max reduction
        for (int64_t i = 0; i < n; ++i) acc[i] = (x[i] > acc[i] || x[i] != x[i]) ? x[i] : acc[i];
        break;
      case Reduce::min:
        for (int64_t i = 0; i < n; ++i) acc[i] = (x[i] < acc[i] || x[i] != x[i]) ? x[i] : acc[i];
        break;
    }
  }
}
}  // namespace

void reduce_into(void* acc, const void* x, int64_t count, Dtype dtype, Reduce r) {
  dispatch_dtype(dtype, [&](auto v) {
    using T = decltype(v);
    reduce_typed(static_cast<T*>(acc), static_cast<const T*>(x), count, r);
  });
}

}  // namespace detail

}  // namespace ember::distributed
