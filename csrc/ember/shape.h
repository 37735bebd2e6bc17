// Shape and Strides, and the checks every op shares: axis normalization and
// broadcasting. Each takes the user-facing op name for its error message.
#pragma once

#include <cstdint>
#include <ostream>
#include <vector>

#include "ember/api.h"

namespace ember {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;

/// Prints (2, 3) like numpy; (5,) for one dimension.
EMBER_API std::ostream& operator<<(std::ostream& os, const Shape& s);
EMBER_API std::string shape_str(const Shape& s);

/// Number of elements; throws if it overflows int64.
EMBER_API int64_t shape_size(const Shape& s, const char* op = "array");
/// Row-major strides in elements.
EMBER_API Strides row_major_strides(const Shape& s);

/// Maps a possibly negative axis into [0, ndim); throws std::out_of_range
/// naming the op, the axis as written, and the ndim.
EMBER_API int normalize_axis(const char* op, int axis, int ndim);
/// Normalizes a list of axes, rejecting duplicates.
EMBER_API std::vector<int> normalize_axes(const char* op, const std::vector<int>& axes, int ndim);

/// numpy broadcasting of two shapes; throws std::invalid_argument naming op.
EMBER_API Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

}  // namespace ember
