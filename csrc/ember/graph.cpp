// Iterative post-order depth-first walk.
#include "ember/graph.h"

#include <unordered_set>
#include <utility>

namespace ember::detail {

std::shared_mutex& graph_mutex() {
  static std::shared_mutex* m = new std::shared_mutex();  // never destroyed: used by workers
  return *m;
}

namespace {
thread_local int read_depth = 0;
}

GraphReadLock::GraphReadLock() {
  if (read_depth++ == 0) graph_mutex().lock_shared();
}
GraphReadLock::~GraphReadLock() {
  if (--read_depth == 0) graph_mutex().unlock_shared();
}

std::vector<array> topological_order(const std::vector<array>& outputs,
                                     const std::function<bool(const array&)>& descend) {
  GraphReadLock lock;
  std::vector<array> order;
  std::unordered_set<uintptr_t> visited;
  // Stack of (node, next input index to visit).
  std::vector<std::pair<array, size_t>> stack;
  for (const auto& root : outputs) {
    if (!root.valid() || visited.count(root.id())) continue;
    visited.insert(root.id());
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      bool walk = descend ? descend(node) : node.has_primitive();
      const auto& ins = node.inputs();
      if (walk && next < ins.size()) {
        const array& child = ins[next++];
        if (visited.insert(child.id()).second) {
          stack.emplace_back(child, 0);
        }
        continue;
      }
      order.push_back(std::move(node));
      stack.pop_back();
    }
  }
  return order;
}

}  // namespace ember::detail
