// Linear algebra: matmul with numpy's batching and broadcasting (BLAS for
// float32 / float64), outer, inner, tensordot and einsum.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ember/array.h"

namespace ember {

/// numpy's matmul: 1-D operands become a row / column (dropped from the result),
/// batch dims broadcast; bool @ bool is bool. float32/float64/complex64 use BLAS.
EMBER_API array matmul(const array& a, const array& b);
/// out[i, j] = a.flat[i] * b.flat[j].
EMBER_API array outer(const array& a, const array& b);
/// Sum of products over the last axes (a product when either is 0-d).
EMBER_API array inner(const array& a, const array& b);
/// Contracts the last `axes` axes of a with the first of b.
EMBER_API array tensordot(const array& a, const array& b, int axes = 2);
EMBER_API array tensordot(const array& a, const array& b, const std::vector<int>& axes_a,
                          const std::vector<int>& axes_b);
/// Einstein summation like numpy's: explicit and implicit outputs, diagonals
/// ("ii->i"), '...' for unnamed leading axes, size-1 broadcasting.
EMBER_API array einsum(const std::string& subscripts, const std::vector<array>& operands);
/// alpha * (a @ b) + beta * c (c broadcasts to the product's shape).
EMBER_API array addmm(const array& c, const array& a, const array& b, double alpha = 1.0,
                      double beta = 1.0);
/// Kronecker product: blocks a[i...] * b (the lower-rank operand gets leading 1s).
EMBER_API array kron(const array& a, const array& b);
/// sum(conj(a) * b) over axis, after broadcasting a and b.
EMBER_API array vecdot(const array& a, const array& b, int axis = -1);
/// Sum of the diagonal at offset of the (axis1, axis2) planes, cast to dtype if given.
EMBER_API array trace(const array& a, int offset = 0, int axis1 = 0, int axis2 = 1,
                      std::optional<Dtype> dtype = std::nullopt);
/// The Walsh-Hadamard transform along the last axis (its size a power of two), times
/// scale (default 1/sqrt(n), which makes it orthonormal).
EMBER_API array hadamard_transform(const array& a, std::optional<double> scale = std::nullopt);

}  // namespace ember

namespace ember {

/// a's matrices at lhs_indices times b's at rhs_indices (flat indices over the batch dims;
/// a missing one means every matrix in order), indices broadcast together: the result is
/// (*indices.shape, M, N). 1-D operands as matmul's. Float dtypes.
EMBER_API array gather_mm(const array& a, const array& b,
                          const std::optional<array>& lhs_indices = std::nullopt,
                          const std::optional<array>& rhs_indices = std::nullopt,
                          bool sorted_indices = false);
/// a @ b with block_size x block_size blocks masked: mask_out over the output's blocks,
/// mask_lhs / mask_rhs over a's and b's (bool: keep or drop; float: scale).
EMBER_API array block_masked_mm(const array& a, const array& b, int block_size = 64,
                                const std::optional<array>& mask_out = std::nullopt,
                                const std::optional<array>& mask_lhs = std::nullopt,
                                const std::optional<array>& mask_rhs = std::nullopt);
/// For each (start, end) pair of segments (..., 2): a[:, start:end] @ b[start:end, :], a and
/// b 2-D; the result is (*segments.shape[:-1], M, N).
EMBER_API array segmented_mm(const array& a, const array& b, const array& segments);

}  // namespace ember
