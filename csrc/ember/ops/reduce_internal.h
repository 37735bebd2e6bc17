// Internal entry points of the reduce family used by its rules: reductions
// that keep the reduced axes, and scans with all their options.
#pragma once

#include "ember/primitives/reduce.h"

namespace ember::detail {

/// Reduces over normalized `axes`, keeping them as size-1 dimensions.
array reduce_keepdims(const array& a, ReduceKind kind, const std::vector<int>& axes);
array scan(const array& a, bool is_sum, int axis, bool reverse, bool inclusive);

}  // namespace ember::detail
