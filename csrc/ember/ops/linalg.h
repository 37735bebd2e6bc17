// Linear algebra: matmul with numpy's batching and broadcasting (BLAS for
// float32 / float64), outer, inner, tensordot and einsum.
#pragma once

#include <string>
#include <vector>

#include "ember/array.h"

namespace ember {

EMBER_API array matmul(const array& a, const array& b);
EMBER_API array outer(const array& a, const array& b);
EMBER_API array inner(const array& a, const array& b);
/// Contracts the last `axes` axes of a with the first of b.
EMBER_API array tensordot(const array& a, const array& b, int axes = 2);
EMBER_API array tensordot(const array& a, const array& b, const std::vector<int>& axes_a,
                          const std::vector<int>& axes_b);
/// Einstein summation for explicit and implicit subscripts (no ellipsis yet).
EMBER_API array einsum(const std::string& subscripts, const std::vector<array>& operands);

}  // namespace ember
