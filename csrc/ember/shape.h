// Shape and Strides, and the checks every op shares: element and byte counts,
// overflow-checked shape arithmetic, axis normalization and broadcasting. Each takes
// the user-facing op name for its error message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "ember/api.h"
#include "ember/dtype.h"

namespace ember {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;

/// Prints (2, 3) like numpy; (5,) for one dimension.
EMBER_API std::ostream& operator<<(std::ostream& os, const Shape& s);
EMBER_API std::string shape_str(const Shape& s);

/// The most elements an array may have: with it, the byte count of every dtype (at most 8
/// bytes an element) and every element offset fit in int64, so kernels need no checks.
inline constexpr int64_t kMaxArraySize = std::numeric_limits<int64_t>::max() / 8;

/// Number of elements. std::invalid_argument (ValueError) naming op for a negative
/// dimension or more than kMaxArraySize elements: the one place sizes are checked.
EMBER_API int64_t shape_size(const Shape& s, const char* op = "array");
/// a + b and a * b of sizes (>= 0); std::invalid_argument naming op when the result
/// exceeds kMaxArraySize. For shape arithmetic (concatenate, pad, tile, repeat, ...).
EMBER_API int64_t checked_add(const char* op, int64_t a, int64_t b);
EMBER_API int64_t checked_mul(const char* op, int64_t a, int64_t b);
/// Bytes of an array of shape s and dtype: shape_size's checks, then ember::memory_error
/// (MemoryError) naming op, the shape and the size when the buffer could never be allocated
/// on this machine (more than its RAM plus swap).
EMBER_API size_t checked_nbytes(const char* op, const Shape& s, Dtype dtype);
/// "1.5 GiB" for a byte count, for messages.
EMBER_API std::string bytes_str(size_t nbytes);
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
