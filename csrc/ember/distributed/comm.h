// The interface a distributed backend implements (internal): moving the bytes of a group's
// collectives. The collective primitives' kernels (backend/cpu/distributed.cpp) call it with
// contiguous host buffers; `op` is the user's op name, used in every error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "ember/dtype.h"

namespace ember::distributed::detail {

enum class Reduce : uint8_t { sum, max, min };

/// A backend's view of one group. Calls on one Comm (and on the groups split from it) are
/// serialized by the backend; every member must make the same calls in the same order.
/// Failures (a peer that exits, a timeout, members that disagree on sizes) throw
/// std::runtime_error naming `op` and the peer's rank.
class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// out = reduce over members of in (count elements of dtype); out may equal in.
  virtual void all_reduce(const void* in, void* out, int64_t count, Dtype dtype, Reduce r,
                          const char* op) = 0;
  /// in holds size() blocks of `count` elements; out gets this rank's block of the sum.
  virtual void sum_scatter(const void* in, void* out, int64_t count, Dtype dtype,
                           const char* op) = 0;
  /// out = every member's `bytes` bytes of in, in rank order.
  virtual void all_gather(const void* in, void* out, size_t bytes, const char* op) = 0;
  virtual void send(const void* data, size_t bytes, int dst, const char* op) = 0;
  virtual void recv(void* data, size_t bytes, int src, const char* op) = 0;
  /// The sub-group of the members that give the same color, ordered by key (see Group::split).
  virtual std::shared_ptr<Comm> split(int color, int key) = 0;
};

/// The ring backend's global group from MLX_RANK / MLX_HOSTFILE, or null when those are not
/// set (or the hostfile lists one rank). Throws std::invalid_argument for a malformed
/// configuration and std::runtime_error when the peers cannot be reached in time.
std::shared_ptr<Comm> ring_init();

/// The elementwise reduction `acc[i] = r(acc[i], x[i])` for count elements of dtype.
void reduce_into(void* acc, const void* x, int64_t count, Dtype dtype, Reduce r);

}  // namespace ember::distributed::detail
