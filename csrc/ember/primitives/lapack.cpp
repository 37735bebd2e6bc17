// Transform rules of the LAPACK-backed linalg primitives, written with ops
// (matmuls, solves, eigvecsh), so they differentiate again. Where a kernel
// reads only one triangle of its input (cholesky, eigvalsh, the triangular
// solves), the rules differentiate that function of the full matrix: entries
// the kernel ignores get zero derivative.
#include "ember/primitives/lapack.h"

#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/ops/lapack.h"

namespace ember {

namespace {

array mT(const array& x) { return swapaxes(x, -1, -2); }

array mm(const array& a, const array& b) { return matmul(a, b); }

// The matrix a kernel that reads one triangle sees: the used triangle
// mirrored onto the other (lower: tril(x) + tril(x, -1)^T).
array mirrored(const array& x, bool upper) {
  return upper ? add(triu(x), mT(triu(x, 1))) : add(tril(x), mT(tril(x, -1)));
}

// The transpose of `mirrored`: the gradient of a function of mirrored(x),
// given the gradient g (with respect to the mirrored matrix).
array unmirrored(const array& g, bool upper) {
  return upper ? add(triu(g), triu(mT(g), 1)) : add(tril(g), tril(mT(g), -1));
}

array masked(const array& x, InverseKind kind) {
  if (kind == InverseKind::lower) return tril(x);
  if (kind == InverseKind::upper) return triu(x);
  return x;
}

InverseKind transposed(InverseKind kind) {
  if (kind == InverseKind::lower) return InverseKind::upper;
  if (kind == InverseKind::upper) return InverseKind::lower;
  return kind;
}

// The op for each kind of solve with an already (..., n, k)-shaped right side.
array solve_kind(const array& a, const array& b, InverseKind kind) {
  if (kind == InverseKind::general) return linalg::solve(a, b);
  return linalg::solve_triangular(a, b, kind == InverseKind::upper);
}

array inverse_kind(const array& a, InverseKind kind) {
  if (kind == InverseKind::general) return linalg::inv(a);
  return linalg::tri_inv(a, kind == InverseKind::upper);
}

array tangent_of(const std::vector<array>& tangents, const std::vector<int>& argnums, int arg,
                 const array& like) {
  for (size_t i = 0; i < argnums.size(); ++i) {
    if (argnums[i] == arg) return tangents[i];
  }
  return zeros_like(like);
}

// x with its batch axis (or a new, broadcast one of size b) in front.
array front(const array& x, const BatchAxis& axis, int64_t b) {
  if (axis) return moveaxis(x, *axis, 0);
  Shape s = x.shape();
  s.insert(s.begin(), b);
  return broadcast_to(expand_dims(x, {0}), s);
}

// Phi(X): the lower triangle of X with its diagonal halved (Cholesky's rules).
array phi(const array& x) {
  int64_t n = x.shape(-1);
  array half = where(eye(n, n, 0, Dtype::bool_), detail::scalar_like(0.5, x),
                     detail::scalar_like(1.0, x));
  return multiply(tril(x), half);
}

// F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it (eigenvector derivatives);
// the inner where keeps the unused diagonal division finite.
array eig_gaps(const array& w) {
  int64_t n = w.shape(-1);
  array d = subtract(expand_dims(w, {w.ndim() - 1}), expand_dims(w, {w.ndim()}));
  array diag = eye(n, n, 0, Dtype::bool_);
  array one = detail::scalar_like(1.0, d), zero = detail::scalar_like(0.0, d);
  return where(diag, zero, divide(one, where(diag, one, d)));
}

}  // namespace

// ---- Inverse: Y = A^-1 (of the used triangle for tri_inv) ----
bool Inverse::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const Inverse&>(other).kind_ == kind_;
}
// dY = -Y dA Y
array Inverse::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                   const std::vector<int>&, const array& out) {
  return negative(mm(mm(out, masked(tangents[0], kind_)), out));
}
// dA = -Y^T C Y^T
std::vector<array> Inverse::vjp(const std::vector<array>&, const array& cotangent,
                                const std::vector<int>&, const array& out) {
  return {masked(negative(mm(mm(mT(out), cotangent), mT(out))), kind_)};
}
std::pair<array, int> Inverse::vmap(const std::vector<array>& inputs,
                                    const std::vector<BatchAxis>& axes) {
  return {inverse_kind(moveaxis(inputs[0], *axes[0], 0), kind_), 0};
}

// ---- Solve: X = A^-1 B ----
bool Solve::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const Solve&>(other).kind_ == kind_;
}
// dX = A^-1 (dB - dA X)
array Solve::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                 const std::vector<int>& argnums, const array& out) {
  array rhs = tangent_of(tangents, argnums, 1, primals[1]);
  for (size_t i = 0; i < argnums.size(); ++i) {
    if (argnums[i] == 0) rhs = subtract(rhs, mm(masked(tangents[i], kind_), out));
  }
  return solve_kind(primals[0], rhs, kind_);
}
// dB = A^-T C, dA = -dB X^T
std::vector<array> Solve::vjp(const std::vector<array>& primals, const array& cotangent,
                              const std::vector<int>& argnums, const array& out) {
  array gb = solve_kind(mT(primals[0]), cotangent, transposed(kind_));
  std::vector<array> grads;
  for (int arg : argnums) {
    grads.push_back(arg == 0 ? masked(negative(mm(gb, mT(out))), kind_) : gb);
  }
  return grads;
}
std::pair<array, int> Solve::vmap(const std::vector<array>& inputs,
                                  const std::vector<BatchAxis>& axes) {
  int64_t b = axes[0] ? inputs[0].shape(*axes[0]) : inputs[1].shape(*axes[1]);
  return {solve_kind(front(inputs[0], axes[0], b), front(inputs[1], axes[1], b), kind_), 0};
}

// ---- Cholesky: L L^T = A (lower) or U^T U = A (upper) ----
bool Cholesky::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const Cholesky&>(other).upper_ == upper_;
}
// dL = L Phi(L^-1 dA L^-T), dA the tangent of the mirrored matrix; dU = dL^T
array Cholesky::jvp(const std::vector<array>&, const std::vector<array>& tangents,
                    const std::vector<int>&, const array& out) {
  array l = upper_ ? mT(out) : out;
  array da = mirrored(tangents[0], upper_);
  array x = linalg::solve_triangular(l, da, false);                 // L^-1 dA
  array y = mT(linalg::solve_triangular(l, mT(x), false));          // L^-1 dA L^-T
  array dl = mm(l, phi(y));
  return upper_ ? mT(dl) : dl;
}
// dA = sym(L^-T Phi(L^T Lbar) L^-1), then folded onto the triangle the kernel reads
std::vector<array> Cholesky::vjp(const std::vector<array>&, const array& cotangent,
                                 const std::vector<int>&, const array& out) {
  array l = upper_ ? mT(out) : out;
  array lbar = upper_ ? mT(cotangent) : cotangent;
  array p = phi(mm(mT(l), lbar));
  array t = linalg::solve_triangular(mT(l), p, true);               // L^-T P
  array s = mT(linalg::solve_triangular(mT(l), mT(t), true));       // L^-T P L^-1
  array g = multiply(add(s, mT(s)), detail::scalar_like(0.5, s));
  return {unmirrored(g, upper_)};
}
std::pair<array, int> Cholesky::vmap(const std::vector<array>& inputs,
                                     const std::vector<BatchAxis>& axes) {
  return {linalg::cholesky(moveaxis(inputs[0], *axes[0], 0), upper_), 0};
}

// ---- PseudoInverse: P = A^+ (rules for constant rank, Golub & Pereyra) ----
// dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P
array PseudoInverse::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                         const std::vector<int>&, const array& p) {
  const array& a = primals[0];
  const array& da = tangents[0];
  int64_t m = a.shape(-2), n = a.shape(-1);
  array qa = subtract(eye(m, m, 0, p.dtype()), mm(a, p));   // I - A P   (m x m)
  array qp = subtract(eye(n, n, 0, p.dtype()), mm(p, a));   // I - P A   (n x n)
  array t1 = negative(mm(mm(p, da), p));
  array t2 = mm(mm(mm(p, mT(p)), mT(da)), qa);
  array t3 = mm(mm(qp, mT(da)), mm(mT(p), p));
  return add(add(t1, t2), t3);
}
// dA = -P^T C P^T + (I - A P) C^T P P^T + P^T P C^T (I - P A)
std::vector<array> PseudoInverse::vjp(const std::vector<array>& primals, const array& c,
                                      const std::vector<int>&, const array& p) {
  const array& a = primals[0];
  int64_t m = a.shape(-2), n = a.shape(-1);
  array qa = subtract(eye(m, m, 0, p.dtype()), mm(a, p));
  array qp = subtract(eye(n, n, 0, p.dtype()), mm(p, a));
  array t1 = negative(mm(mm(mT(p), c), mT(p)));
  array t2 = mm(mm(qa, mT(c)), mm(p, mT(p)));
  array t3 = mm(mm(mm(mT(p), p), mT(c)), qp);
  return {add(add(t1, t2), t3)};
}
std::pair<array, int> PseudoInverse::vmap(const std::vector<array>& inputs,
                                          const std::vector<BatchAxis>& axes) {
  return {linalg::pinv(moveaxis(inputs[0], *axes[0], 0)), 0};
}

// ---- SVDValues: s_i = u_i^T A v_i ----
// The singular vectors come from the smaller Gram matrix (descending order to
// match s): with m >= n, V from eigh(A^T A) and U = A V / s; otherwise U from
// eigh(A A^T) and V^T = U^T A / s. Distinct, nonzero singular values assumed.
namespace {
struct SvdFactors {
  array left, right;  // A ~ left diag(1/s) right: (A V)(V^T) or (U)(U^T A)
  bool tall;
};
SvdFactors svd_factors(const array& a) {
  bool tall = a.shape(-2) >= a.shape(-1);
  array g = tall ? mm(mT(a), a) : mm(a, mT(a));
  array w = flip(linalg::eigvecsh(g), std::vector<int>{-1});  // descending eigenvalues
  if (tall) return {mm(a, w), mT(w), true};                    // A V, V^T
  return {w, mm(mT(w), a), false};                             // U, U^T A
}
}  // namespace
// ds_i = (u_i^T dA v_i), with u_i = A v_i / s_i (tall) or v_i = A^T u_i / s_i
array SVDValues::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                     const std::vector<int>&, const array& s) {
  auto f = svd_factors(primals[0]);
  // diag(left^T dA right^T) / s
  array d = sum(multiply(f.left, mm(tangents[0], mT(f.right))), std::vector<int>{-2});
  return divide(d, s);
}
// dA = U diag(c) V^T = left diag(c / s) right
std::vector<array> SVDValues::vjp(const std::vector<array>& primals, const array& c,
                                  const std::vector<int>&, const array& s) {
  auto f = svd_factors(primals[0]);
  array scale = expand_dims(divide(c, s), {c.ndim() - 1});  // (..., 1, r)
  return {mm(multiply(f.left, scale), f.right)};
}
std::pair<array, int> SVDValues::vmap(const std::vector<array>& inputs,
                                      const std::vector<BatchAxis>& axes) {
  return {linalg::svd_values(moveaxis(inputs[0], *axes[0], 0)), 0};
}

// ---- EighPart: w = eigvalsh(A), V = eigvecsh(A) of the mirrored matrix ----
bool EighPart::is_equivalent(const Primitive& other) const {
  auto& o = static_cast<const EighPart&>(other);
  return Primitive::is_equivalent(other) && o.vectors_ == vectors_ && o.upper_ == upper_;
}
// dw = diag(V^T dA V); dV = V (F o (V^T dA V))
array EighPart::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                    const std::vector<int>&, const array& out) {
  const char* uplo = upper_ ? "U" : "L";
  array da = mirrored(tangents[0], upper_);
  array v = vectors_ ? out : linalg::eigvecsh(primals[0], uplo);
  array m = mm(mT(v), mm(da, v));
  if (!vectors_) return diagonal(m, 0, -2, -1);
  array w = linalg::eigvalsh(primals[0], uplo);
  return mm(v, multiply(eig_gaps(w), m));
}
// dA = V diag(c) V^T (values) or V (F o (V^T C)) V^T (vectors), symmetrized
// and folded onto the triangle the kernel reads
std::vector<array> EighPart::vjp(const std::vector<array>& primals, const array& c,
                                 const std::vector<int>&, const array& out) {
  const char* uplo = upper_ ? "U" : "L";
  array g;
  if (!vectors_) {
    array v = linalg::eigvecsh(primals[0], uplo);
    g = mm(multiply(v, expand_dims(c, {c.ndim() - 1})), mT(v));
  } else {
    array w = linalg::eigvalsh(primals[0], uplo);
    g = mm(mm(out, multiply(eig_gaps(w), mm(mT(out), c))), mT(out));
  }
  g = multiply(add(g, mT(g)), detail::scalar_like(0.5, g));
  return {unmirrored(g, upper_)};
}
std::pair<array, int> EighPart::vmap(const std::vector<array>& inputs,
                                     const std::vector<BatchAxis>& axes) {
  array x = moveaxis(inputs[0], *axes[0], 0);
  const char* uplo = upper_ ? "U" : "L";
  return {vectors_ ? linalg::eigvecsh(x, uplo) : linalg::eigvalsh(x, uplo), 0};
}

// ---- Eigvals: not differentiable here ----
array Eigvals::jvp(const std::vector<array>&, const std::vector<array>&, const std::vector<int>&,
                   const array&) {
  throw std::invalid_argument(
      "[linalg.eigvals] Derivatives are not implemented: they need the eigenvectors "
      "(linalg.eig, which needs multi-output primitives).");
}
std::vector<array> Eigvals::vjp(const std::vector<array>& primals, const array&,
                                const std::vector<int>& argnums, const array& out) {
  jvp(primals, {}, argnums, out);
  return {};
}
std::pair<array, int> Eigvals::vmap(const std::vector<array>& inputs,
                                    const std::vector<BatchAxis>& axes) {
  return {linalg::eigvals(moveaxis(inputs[0], *axes[0], 0)), 0};
}

// ---- Determinant: d = det(A) ----
// dd = d tr(A^-1 dA)
array Determinant::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                       const std::vector<int>&, const array& d) {
  return multiply(d, trace(linalg::solve(primals[0], tangents[0]), 0, -2, -1));
}
// dA = c d A^-T (A must be invertible)
std::vector<array> Determinant::vjp(const std::vector<array>& primals, const array& c,
                                    const std::vector<int>&, const array& d) {
  array scale = expand_dims(multiply(c, d), {c.ndim(), c.ndim() + 1});
  return {multiply(scale, mT(linalg::inv(primals[0])))};
}
std::pair<array, int> Determinant::vmap(const std::vector<array>& inputs,
                                        const std::vector<BatchAxis>& axes) {
  return {linalg::det(moveaxis(inputs[0], *axes[0], 0)), 0};
}

}  // namespace ember
