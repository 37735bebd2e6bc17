// Internal entry points of the reduce family, used by its ops and its rules:
// nodes that keep the reduced axes, and scans with all their options.
#pragma once

#include <optional>

#include "ember/primitives/reduce.h"

namespace ember::detail {

/// The dtype sum / prod / cumsum / cumprod give for t: bool and small ints
/// widen to int32 (unsigned: uint32); everything else is kept.
Dtype sum_dtype(Dtype t);

/// Reduces over normalized `axes`, keeping them as size-1 dimensions. `dtype`
/// overrides the output dtype (only float32 is allowed, for sums and products).
array reduce_keepdims(const array& a, ReduceKind kind, const std::vector<int>& axes,
                      std::optional<Dtype> dtype = std::nullopt);
/// Scan along a normalized axis.
array scan(const array& a, ScanKind kind, int axis, bool reverse, bool inclusive);

}  // namespace ember::detail
