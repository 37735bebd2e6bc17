// mlx.core.linalg: factorizations and solvers over LAPACK (float32 / float64),
// batched over leading axes, plus norm and cross (compositions). Shape and
// dtype errors are raised when the op is called; a singular or not positive
// definite matrix is a ValueError when the result is evaluated (where numpy
// raises LinAlgError), and det of a singular matrix is 0.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ember/array.h"

namespace ember::linalg {

/// Inverse of each square matrix (..., n, n).
EMBER_API array inv(const array& a);
/// Inverse of each lower (or upper) triangular matrix; the other triangle is ignored.
EMBER_API array tri_inv(const array& a, bool upper = false);
/// Moore-Penrose pseudo-inverse (..., m, n) -> (..., n, m), singular values below
/// max(m, n) * eps * max(s) treated as zero (numpy's default).
EMBER_API array pinv(const array& a);
/// x with a @ x = b; b is (..., n) when 1-D, else (..., n, k); batch axes broadcast.
EMBER_API array solve(const array& a, const array& b);
/// solve for a lower (or upper) triangular a; the other triangle is ignored.
EMBER_API array solve_triangular(const array& a, const array& b, bool upper = false);
/// The Cholesky factor L (a = L L^T), or U (a = U^T U) when upper; uses a's lower
/// (upper) triangle.
EMBER_API array cholesky(const array& a, bool upper = false);
/// inv(a) from the Cholesky factor of a (lower, or upper when upper).
EMBER_API array cholesky_inv(const array& factor, bool upper = false);
/// Singular values (..., min(m, n)), in descending order.
EMBER_API array svd_values(const array& a);
/// Eigenvalues of each symmetric matrix (ascending), from its lower ("L") or upper
/// ("U") triangle.
EMBER_API array eigvalsh(const array& a, const std::string& uplo = "L");
/// Orthonormal eigenvectors (as columns, in eigvalsh's order) of each symmetric matrix.
EMBER_API array eigvecsh(const array& a, const std::string& uplo = "L");
/// Eigenvalues of each general square matrix (complex64).
EMBER_API array eigvals(const array& a);
/// Determinant of each square matrix.
EMBER_API array det(const array& a);
/// The norm argument: none, a number, or "fro" / "nuc".
using NormOrd = std::variant<std::monostate, double, std::string>;
/// numpy.linalg.norm: vector norms over one axis, matrix norms over two.
EMBER_API array norm(const array& a, const NormOrd& ord = {},
                     const std::optional<std::vector<int>>& axis = std::nullopt,
                     bool keepdims = false);
/// Cross product of 3-vectors along axis (a and b broadcast).
EMBER_API array cross(const array& a, const array& b, int axis = -1);

}  // namespace ember::linalg
