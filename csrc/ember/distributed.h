// ember::distributed (mlx.core.distributed): process groups and collective ops. A Group is
// a set of processes with ranks 0..size-1; the collectives are primitives of the lazy graph
// (primitives/distributed.h) whose kernels talk to the other processes of the group through
// its backend. The "ring" backend (distributed/ring.cpp) is a TCP mesh configured from MLX's
// launch environment (MLX_RANK, MLX_HOSTFILE); docs/distributed.md describes its protocol.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "ember/array.h"

namespace ember::distributed {

namespace detail {
class Comm;  // a backend's connection to the other members of a group (distributed/comm.h)
}

/// A group of processes. The default group (no backend) has size 1: every collective over it
/// is an identity.
class EMBER_API Group {
 public:
  Group() = default;
  explicit Group(std::shared_ptr<detail::Comm> comm) : comm_(std::move(comm)) {}
  int rank() const;
  int size() const;
  /// The groups formed by the members that pass the same `color`; within one, ranks follow
  /// `key` (the parent's rank when key < 0). Every member of this group must call it.
  Group split(int color, int key = -1) const;
  /// The backend's connection, or null for a group of size 1 without a backend.
  const std::shared_ptr<detail::Comm>& comm() const { return comm_; }

 private:
  std::shared_ptr<detail::Comm> comm_;
};

/// Whether ember can instantiate `backend` ("any", "ring": yes; "mpi", "nccl", "jaccl": not
/// built). An unknown name throws std::invalid_argument.
EMBER_API bool is_available(const std::string& backend = "any");

/// The global group. The first call forms it (for "any" or "ring", from MLX_RANK and
/// MLX_HOSTFILE); when no backend can be formed it is a group of size 1, unless `strict`,
/// which throws instead. Later calls return the same group.
EMBER_API Group init(bool strict = false, const std::string& backend = "any");

/// Sum / maximum / minimum of x over the group, elementwise; every member gets the result.
EMBER_API array all_sum(const array& x, std::optional<Group> group = std::nullopt);
EMBER_API array all_max(const array& x, std::optional<Group> group = std::nullopt);
EMBER_API array all_min(const array& x, std::optional<Group> group = std::nullopt);
/// Every member's x concatenated along axis 0 in rank order (0-d inputs count as shape (1,)).
EMBER_API array all_gather(const array& x, std::optional<Group> group = std::nullopt);
/// The sum over the group, of which rank r keeps the r-th of size() equal slices of axis 0.
EMBER_API array sum_scatter(const array& x, std::optional<Group> group = std::nullopt);
/// Sends x to rank dst of the group; the result (x's value) must be evaluated for the send
/// to happen.
EMBER_API array send(const array& x, int dst, std::optional<Group> group = std::nullopt);
/// Receives an array of shape and dtype from rank src (what that rank passed to send).
EMBER_API array recv(Shape shape, Dtype dtype, int src, std::optional<Group> group = std::nullopt);
/// recv with x's shape and dtype.
EMBER_API array recv_like(const array& x, int src, std::optional<Group> group = std::nullopt);

}  // namespace ember::distributed
