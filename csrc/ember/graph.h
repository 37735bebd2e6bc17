// The one iterative graph walk (no recursion, so million-node chains are fine),
// used by eval and by every transform.
#pragma once

#include <functional>
#include <vector>

#include "ember/array.h"

namespace ember::detail {

/// Returns the nodes reachable from `outputs` in an order where every input
/// comes before its users. `descend(a)` says whether to walk into a's inputs
/// (a itself is still listed); by default every node with a primitive.
EMBER_API std::vector<array> topological_order(const std::vector<array>& outputs,
                                               const std::function<bool(const array&)>& descend = nullptr);

}  // namespace ember::detail
