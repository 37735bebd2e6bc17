// The one iterative graph walk (no recursion, so million-node chains are fine),
// used by eval and by every transform.
#pragma once

#include <functional>
#include <shared_mutex>
#include <vector>

#include "ember/array.h"

namespace ember::detail {

/// Returns the nodes reachable from `outputs` in an order where every input
/// comes before its users. `descend(a)` says whether to walk into a's inputs
/// (a itself is still listed); by default every node with a primitive.
EMBER_API std::vector<array> topological_order(const std::vector<array>& outputs,
                                               const std::function<bool(const array&)>& descend = nullptr);

/// A node's primitive and inputs are dropped once it is computed (array::detach), on the
/// thread that computed it, while another thread may be walking a graph that reaches the
/// node (a transform tracing a function that captured a lazy array being evaluated
/// elsewhere). Walks hold this lock shared, from the walk to the last read of the nodes it
/// found; detach holds it exclusively while it takes the two fields out. Re-entrant on a
/// thread. Never evaluate while holding it (eval on this thread would wait for itself).
class EMBER_API GraphReadLock {
 public:
  GraphReadLock();
  ~GraphReadLock();
  GraphReadLock(const GraphReadLock&) = delete;
  GraphReadLock& operator=(const GraphReadLock&) = delete;
};
/// Held exclusively by array::detach.
EMBER_API std::shared_mutex& graph_mutex();

}  // namespace ember::detail
