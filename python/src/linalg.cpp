// The ember.core.linalg submodule (mlx.core.linalg's names and signatures).
#include <nanobind/stl/variant.h>

#include "bindings.h"
#include "convert.h"
#include "ember/errors.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

linalg::NormOrd to_ord(nb::handle ord) {
  if (ord.is_none()) return {};
  if (nb::isinstance<nb::str>(ord)) return nb::cast<std::string>(ord);
  if (nb::isinstance<nb::int_>(ord) || nb::isinstance<nb::float_>(ord)) {
    return nb::cast<double>(ord);
  }
  throw nb::type_error("[linalg.norm] ord must be None, a number, \"fro\" or \"nuc\".");
}

nb::tuple tuple_of(const std::vector<array>& xs) {
  nb::list l;
  for (const auto& x : xs) l.append(nb::cast(x));
  return nb::tuple(l);
}

}  // namespace

void init_linalg(nb::module_& parent) {
  nb::module_ m = parent.def_submodule("linalg", "Linear algebra over LAPACK (mlx.core.linalg).");
  def_op(m, "inv", [](ArrayArg a) { return linalg::inv(to_array(a)); }, "a"_a,
        "Inverse of each square matrix (..., n, n).\n\n"
        "Args:\n    a: float32 or float64 matrices (ints are computed in float32).\n\n"
        "Returns:\n    The inverses. A singular matrix is a ValueError when evaluated.");
  def_op(m, "tri_inv", [](ArrayArg a, bool upper) { return linalg::tri_inv(to_array(a), upper); },
        "a"_a, "upper"_a = false,
        "Inverse of each triangular matrix (only the lower, or upper, triangle is read).\n\n"
        "Args:\n    a: Square matrices.\n    upper: Use the upper triangle.\n\n"
        "Returns:\n    The triangular inverses.");
  def_op(m, "pinv", [](ArrayArg a) { return linalg::pinv(to_array(a)); }, "a"_a,
        "Moore-Penrose pseudo-inverse of each matrix (..., m, n) -> (..., n, m).\n\n"
        "Singular values below max(m, n) * eps * max(s) count as zero (numpy's default).");
  def_op(m, "solve", [](ArrayArg a, ArrayArg b) {
    return linalg::solve(to_array(a), to_array(b));
  }, "a"_a, "b"_a,
        "Solves a @ x = b.\n\n"
        "Args:\n    a: Square matrices (..., n, n).\n"
        "    b: A vector (n,) or right-hand sides (..., n, k); batch axes broadcast.\n\n"
        "Returns:\n    x, shaped like b (with the broadcast batch).");
  def_op(m, "solve_triangular", [](ArrayArg a, ArrayArg b, bool upper) {
    return linalg::solve_triangular(to_array(a), to_array(b), upper);
  }, "a"_a, "b"_a, nb::kw_only(), "upper"_a = false,
        "Solves a @ x = b for triangular a (only its lower, or upper, triangle is read).");
  def_op(m, "cholesky", [](ArrayArg a, bool upper) { return linalg::cholesky(to_array(a), upper); },
        "a"_a, "upper"_a = false,
        "Cholesky factor of each symmetric positive-definite matrix.\n\n"
        "Args:\n    a: Matrices; only the lower (upper) triangle is read.\n"
        "    upper: Return U with a = U^T U instead of L with a = L L^T.\n\n"
        "Returns:\n    The triangular factors. A matrix that is not positive definite is a "
        "ValueError when evaluated.");
  def_op(m, "cholesky_inv", [](ArrayArg a, bool upper) {
    return linalg::cholesky_inv(to_array(a), upper);
  }, "a"_a, "upper"_a = false,
        "The inverse of a matrix from its Cholesky factor.\n\n"
        "Args:\n    a: The factor L (or U when upper).\n    upper: Whether a is upper triangular.\n\n"
        "Returns:\n    inv(L @ L.T) (or inv(U.T @ U)).");
  def_op(m, "svd", [](ArrayArg a, bool compute_uv) -> TypedObject<arg_type::SvdResult> {
    if (!compute_uv) return nb::cast(linalg::svd_values(to_array(a)));
    return tuple_of(linalg::svd(to_array(a)));
  }, "a"_a, "compute_uv"_a = true,
        "Singular value decomposition a = U diag(S) Vt of each matrix (..., m, n).\n\n"
        "Args:\n    a: Matrices.\n    compute_uv: Return (U, S, Vt) (full: U (m, m), Vt (n, n));\n"
        "        else only S.\n\n"
        "Returns:\n    (U, S, Vt), or S: the singular values (..., min(m, n)), descending.\n"
        "    Gradients: through S (either form); not through U and Vt.");
  def_op(m, "qr", [](ArrayArg a) { return tuple_of(linalg::qr(to_array(a))); }, "a"_a,
         "The reduced QR factorization a = Q @ R of each matrix.\n\n"
         "Returns:\n    (Q, R): Q (..., m, k) with orthonormal columns, R (..., k, n) upper\n"
         "    triangular, k = min(m, n). Differentiable for m >= n.");
  def_op(m, "eigh", [](ArrayArg a, const std::string& uplo) {
    return tuple_of(linalg::eigh(to_array(a), uplo));
  }, "a"_a, "UPLO"_a = "L",
         "Eigenvalues (ascending) and eigenvectors (columns) of each symmetric matrix.\n\n"
         "Args:\n    a: Square matrices.\n    UPLO: Read the lower (\"L\") or upper (\"U\") triangle.\n\n"
         "Returns:\n    (w, V) with a @ V = V * w. Differentiable (distinct eigenvalues).");
  def_op(m, "eig", [](ArrayArg a) { return tuple_of(linalg::eig(to_array(a))); }, "a"_a,
         "Eigenvalues and unit eigenvectors (columns) of each general square matrix.\n\n"
         "Returns:\n    (w, V), complex64, with a @ V = V * w.");
  def_op(m, "slogdet", [](ArrayArg a) { return tuple_of(linalg::slogdet(to_array(a))); },
         "a"_a,
         "Sign and natural log of the absolute determinant of each square matrix.\n\n"
         "Returns:\n    (sign, logabsdet); (0, -inf) for a singular matrix.");
  def_op(m, "lu", [](ArrayArg a) { return tuple_of(linalg::lu(to_array(a))); }, "a"_a,
         "LU factorization with partial pivoting of each square matrix.\n\n"
         "Returns:\n    (P, L, U) with a = L[P] @ U: P a permutation of the rows (uint32),\n"
         "    L unit lower triangular, U upper triangular.");
  def_op(m, "lu_factor", [](ArrayArg a) { return tuple_of(linalg::lu_factor(to_array(a))); },
         "a"_a,
         "LU factorization in LAPACK's packed form.\n\n"
         "Returns:\n    (LU, pivots): L below the diagonal (unit diagonal implied), U on and\n"
         "    above it; pivots[i] (uint32, 0-based) the row swapped with row i.");
  def_op(m, "eigvalsh", [](ArrayArg a, const std::string& uplo) {
    return linalg::eigvalsh(to_array(a), uplo);
  }, "a"_a, "UPLO"_a = "L",
        "Eigenvalues of each symmetric matrix, ascending.\n\n"
        "Args:\n    a: Square matrices.\n    UPLO: Read the lower (\"L\") or upper (\"U\") triangle.\n\n"
        "Returns:\n    The eigenvalues (..., n).");
  def_op(m, "eigvals", [](ArrayArg a) { return linalg::eigvals(to_array(a)); }, "a"_a,
        "Eigenvalues of each general square matrix (complex64, in LAPACK's order).");
  def_op(m, "det", [](ArrayArg a) { return linalg::det(to_array(a)); }, "a"_a,
        "Determinant of each square matrix (0 for a singular one).");
  def_op(m, "norm", [](ArrayArg a, OrdArg ord, AxesArg axis, bool keepdims) {
    std::optional<std::vector<int>> ax = to_axes(axis);
    return linalg::norm(to_array(a), to_ord(ord), ax, keepdims);
  }, "a"_a, "ord"_a = nb::none(), "axis"_a = nb::none(), "keepdims"_a = false,
        "Vector or matrix norm (numpy.linalg.norm).\n\n"
        "Args:\n    a: Input array.\n"
        "    ord: For vectors a number (inf, -inf, 0, p); for matrices 1, -1, 2, -2, inf,\n"
        "        -inf, \"fro\" or \"nuc\". None: the 2-norm (Frobenius for matrices).\n"
        "    axis: One axis (vector norm), two (matrix norm), or None: all of a when ord is\n"
        "        None, else a must be 1-D or 2-D.\n"
        "    keepdims: Keep the reduced axes with size 1.\n\n"
        "Returns:\n    The norms.");
  def_op(m, "cross", [](ArrayArg a, ArrayArg b, AxisArg axis) {
    auto [x, y] = to_arrays(a, b);
    return linalg::cross(x, y, to_axis("cross", axis));
  }, "a"_a, "b"_a, "axis"_a = -1, "Cross product of 3-vectors along axis.");
}
