// Transform rules of the LAPACK-backed linalg primitives, written with ops
// (matmuls, solves, eigvecsh), so they differentiate again. Where a kernel
// reads only one triangle of its input (cholesky, eigvalsh, the triangular
// solves), the rules differentiate that function of the full matrix: entries
// the kernel ignores get zero derivative.
#include "ember/primitives/lapack.h"

#include "ember/errors.h"
#include "ember/export/fields.h"
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

// ---- EigvalsH: w = eigvalsh(A) of the mirrored matrix ----
bool EigvalsH::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const EigvalsH&>(other).upper_ == upper_;
}
// dw = diag(V^T dA V)
array EigvalsH::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                    const std::vector<int>&, const array&) {
  array v = linalg::eigvecsh(primals[0], upper_ ? "U" : "L");
  return diagonal(mm(mT(v), mm(mirrored(tangents[0], upper_), v)), 0, -2, -1);
}
// dA = V diag(c) V^T, folded onto the triangle the kernel reads
std::vector<array> EigvalsH::vjp(const std::vector<array>& primals, const array& c,
                                 const std::vector<int>&, const array&) {
  array v = linalg::eigvecsh(primals[0], upper_ ? "U" : "L");
  return {unmirrored(mm(multiply(v, expand_dims(c, {c.ndim() - 1})), mT(v)), upper_)};
}
std::pair<array, int> EigvalsH::vmap(const std::vector<array>& inputs,
                                     const std::vector<BatchAxis>& axes) {
  return {linalg::eigvalsh(moveaxis(inputs[0], *axes[0], 0), upper_ ? "U" : "L"), 0};
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

// ---- multi-output factorizations ----
// Their rules recompute the factorization from the primal input instead of using
// `outputs`: an output the traced function did not use reaches the rule as a stand-in
// that cannot be evaluated (seen with grad of sum(eigh(x)[0])), so the rules read none.
// TODO(#9): use `outputs` once the engine hands unused siblings over as values.
namespace ember {

namespace {

// Raises the error of a factorization whose derivatives ember does not define.
[[noreturn]] void no_derivative(const char* op, const char* why) {
  throw std::invalid_argument(msg("[", op, "] Derivatives are not implemented", why, "."));
}

array zeros_for(const array& like) { return zeros_like(like); }

}  // namespace

// ---- Eigh: (w, V) ----
bool Eigh::is_equivalent(const Primitive& other) const {
  return Primitive::is_equivalent(other) && static_cast<const Eigh&>(other).upper_ == upper_;
}
// dw = diag(V^T dA V), dV = V (F o (V^T dA V)), dA the tangent of the mirrored matrix
std::vector<array> Eigh::jvp_multi(const std::vector<array>& primals,
                                   const std::vector<array>& tangents, const std::vector<int>&,
                                   const std::vector<array>&) {
  auto outputs = linalg::eigh(primals[0], upper_ ? "U" : "L");
  const array& w = outputs[0];
  const array& v = outputs[1];
  array m = mm(mT(v), mm(mirrored(tangents[0], upper_), v));
  return {diagonal(m, 0, -2, -1), mm(v, multiply(eig_gaps(w), m))};
}
// dA = V (diag(cw) + F o (V^T cV)) V^T, symmetrized and folded onto the triangle read
std::vector<array> Eigh::vjp_multi(const std::vector<array>& primals,
                                   const std::vector<array>& cotangents, const std::vector<int>&,
                                   const std::vector<array>&) {
  auto outputs = linalg::eigh(primals[0], upper_ ? "U" : "L");
  const array& w = outputs[0];
  const array& v = outputs[1];
  int64_t n = w.shape(-1);
  array inner = zeros(Shape(v.shape()), v.dtype());
  if (cotangents[0].valid()) {
    inner = add(inner, multiply(eye(n, n, 0, v.dtype()), expand_dims(cotangents[0], {w.ndim() - 1})));
  }
  if (cotangents[1].valid()) inner = add(inner, multiply(eig_gaps(w), mm(mT(v), cotangents[1])));
  array g = mm(mm(v, inner), mT(v));
  g = multiply(add(g, mT(g)), detail::scalar_like(0.5, g));
  return {unmirrored(g, upper_)};
}
std::pair<std::vector<array>, std::vector<int>> Eigh::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  return {linalg::eigh(moveaxis(inputs[0], *axes[0], 0), upper_ ? "U" : "L"), {0, 0}};
}

// ---- SlogDet: (sign, log|det|) ----
// d sign = 0, d log|det| = tr(A^-1 dA)
std::vector<array> SlogDet::jvp_multi(const std::vector<array>& primals,
                                      const std::vector<array>& tangents, const std::vector<int>&,
                                      const std::vector<array>&) {
  return {array(), trace(linalg::solve(primals[0], tangents[0]), 0, -2, -1)};
}
// dA = c A^-T for the cotangent c of log|det| (the sign is piecewise constant)
std::vector<array> SlogDet::vjp_multi(const std::vector<array>& primals,
                                      const std::vector<array>& cotangents,
                                      const std::vector<int>&, const std::vector<array>&) {
  const array& c = cotangents[1];
  if (!c.valid()) return {array()};
  return {multiply(expand_dims(c, {c.ndim(), c.ndim() + 1}), mT(linalg::inv(primals[0])))};
}
std::pair<std::vector<array>, std::vector<int>> SlogDet::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  return {linalg::slogdet(moveaxis(inputs[0], *axes[0], 0)), {0, 0}};
}

// ---- QR: A = Q R (rules for m >= n, where R is square and invertible) ----
namespace {
void qr_needs_tall(const array& a) {
  if (a.shape(-2) < a.shape(-1)) {
    no_derivative("linalg.qr", " for wide matrices (m < n); they are for m >= n");
  }
}
// x R^-1 for upper triangular R: (R^-T x^T)^T
array right_solve_upper(const array& x, const array& r) {
  return mT(linalg::solve_triangular(mT(r), mT(x), false));
}
}  // namespace
// C = Q^T dA R^-1, Omega = tril(C, -1) - tril(C, -1)^T (skew):
// dR = (C - Omega) R, dQ = dA R^-1 - Q (C - Omega)
std::vector<array> QR::jvp_multi(const std::vector<array>& primals,
                                 const std::vector<array>& tangents, const std::vector<int>&,
                                 const std::vector<array>&) {
  qr_needs_tall(primals[0]);
  auto outputs = linalg::qr(primals[0]);
  const array& q = outputs[0];
  const array& r = outputs[1];
  array da_rinv = right_solve_upper(tangents[0], r);
  array c = mm(mT(q), da_rinv);
  array low = tril(c, -1);
  array d = subtract(c, subtract(low, mT(low)));  // C - Omega (upper triangular)
  return {subtract(da_rinv, mm(q, d)), mm(d, r)};
}
// M = R Rbar^T - Qbar^T Q;  dA = (Qbar + Q copyltu(M)) R^-T, copyltu(M) = tril(M) + tril(M, -1)^T
std::vector<array> QR::vjp_multi(const std::vector<array>& primals,
                                 const std::vector<array>& cotangents, const std::vector<int>&,
                                 const std::vector<array>&) {
  qr_needs_tall(primals[0]);
  auto outputs = linalg::qr(primals[0]);
  const array& q = outputs[0];
  const array& r = outputs[1];
  array qbar = cotangents[0].valid() ? cotangents[0] : zeros_for(q);
  array rbar = cotangents[1].valid() ? cotangents[1] : zeros_for(r);
  array m = subtract(mm(r, mT(rbar)), mm(mT(qbar), q));
  array sym = add(tril(m), mT(tril(m, -1)));
  array x = add(qbar, mm(q, sym));
  // x R^-T = (R^-1 x^T)^T
  return {mT(linalg::solve_triangular(r, mT(x), true))};
}
std::pair<std::vector<array>, std::vector<int>> QR::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  return {linalg::qr(moveaxis(inputs[0], *axes[0], 0)), {0, 0}};
}

// ---- SVD (full): the singular values differentiate as SVDValues does; the vectors not ----
std::vector<array> SVD::jvp_multi(const std::vector<array>&, const std::vector<array>&,
                                  const std::vector<int>&, const std::vector<array>&) {
  no_derivative("linalg.svd",
                " for the singular vectors (compute_uv=False differentiates the values)");
}
std::vector<array> SVD::vjp_multi(const std::vector<array>& primals,
                                  const std::vector<array>& cotangents, const std::vector<int>&,
                                  const std::vector<array>&) {
  if (cotangents[0].valid() || cotangents[2].valid()) {
    no_derivative("linalg.svd",
                  " for the singular vectors (compute_uv=False differentiates the values)");
  }
  if (!cotangents[1].valid()) return {array()};
  // only S is used: dA = U[:, :k] diag(c) Vt[:k]
  auto outputs = linalg::svd(primals[0]);
  const array& u = outputs[0];
  const array& vt = outputs[2];
  int64_t k = outputs[1].shape(-1);
  std::vector<int64_t> lo(u.ndim(), 0), hi_u(u.shape().begin(), u.shape().end()),
      hi_v(vt.shape().begin(), vt.shape().end()), step(u.ndim(), 1);
  hi_u.back() = k;
  hi_v[vt.ndim() - 2] = k;
  array uk = slice(u, lo, hi_u, step), vk = slice(vt, lo, hi_v, step);
  return {mm(multiply(uk, expand_dims(cotangents[1], {cotangents[1].ndim() - 1})), vk)};
}
std::pair<std::vector<array>, std::vector<int>> SVD::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  return {linalg::svd(moveaxis(inputs[0], *axes[0], 0)), {0, 0, 0}};
}

// ---- Eig: no derivatives (the complex eigenvector convention is not fixed yet) ----
std::vector<array> Eig::jvp_multi(const std::vector<array>&, const std::vector<array>&,
                                  const std::vector<int>&, const std::vector<array>&) {
  no_derivative("linalg.eig", "");
}
std::vector<array> Eig::vjp_multi(const std::vector<array>&, const std::vector<array>&,
                                  const std::vector<int>&, const std::vector<array>&) {
  no_derivative("linalg.eig", "");
}
std::pair<std::vector<array>, std::vector<int>> Eig::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  return {linalg::eig(moveaxis(inputs[0], *axes[0], 0)), {0, 0}};
}

// ---- LUFactor: no derivatives (MLX defines none either) ----
std::vector<array> LUFactor::jvp_multi(const std::vector<array>&, const std::vector<array>&,
                                       const std::vector<int>&, const std::vector<array>&) {
  no_derivative("linalg.lu", "");
}
std::vector<array> LUFactor::vjp_multi(const std::vector<array>&, const std::vector<array>&,
                                       const std::vector<int>&, const std::vector<array>&) {
  no_derivative("linalg.lu", "");
}
std::pair<std::vector<array>, std::vector<int>> LUFactor::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  array x = moveaxis(inputs[0], *axes[0], 0);
  auto outs = make_nodes<LUFactor>({x.shape(), Shape(x.shape().begin(), x.shape().end() - 1),
                                    Shape(x.shape().begin(), x.shape().end() - 1)},
                                   {x.dtype(), Dtype::uint32, Dtype::uint32}, {x});
  return {outs, {0, 0, 0}};
}

// ---- export: parameters, and loaders that rebuild each node through its op ----
void Inverse::serialize(ExportFields& f) const { f.add_int(int(kind_)); }
void Solve::serialize(ExportFields& f) const { f.add_int(int(kind_)); }
void Cholesky::serialize(ExportFields& f) const { f.add_bool(upper_); }
void EigvalsH::serialize(ExportFields& f) const { f.add_bool(upper_); }
void Eigh::serialize(ExportFields& f) const { f.add_bool(upper_); }

namespace {

using Loaded = std::vector<array>;
using In = std::vector<array>;
using Specs = std::vector<ExportSpec>;

InverseKind read_kind(ExportFields::Reader& f) {
  return InverseKind(f.integer("kind", 0, int(InverseKind::upper)));
}
const char* uplo(ExportFields::Reader& f) { return f.boolean("upper") ? "U" : "L"; }

// A loader for an op of one matrix argument and no parameters.
template <typename Op>
PrimitiveLoader unary_loader(Op op) {
  return [op](ExportFields::Reader&, const In& in, const Specs&) -> Loaded {
    detail::expect_inputs(in, 1);
    if constexpr (std::is_same_v<decltype(op(in[0])), array>) {
      return {op(in[0])};
    } else {
      return op(in[0]);
    }
  };
}

const detail::RegisterLoaders kLoaders{
    {"Inverse", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1);
       InverseKind kind = read_kind(f);
       if (kind == InverseKind::general) return {linalg::inv(in[0])};
       return {linalg::tri_inv(in[0], kind == InverseKind::upper)};
     }},
    {"Solve", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 2);
       InverseKind kind = read_kind(f);
       if (kind == InverseKind::general) return {linalg::solve(in[0], in[1])};
       return {linalg::solve_triangular(in[0], in[1], kind == InverseKind::upper)};
     }},
    {"Cholesky", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1);
       return {linalg::cholesky(in[0], f.boolean("upper"))};
     }},
    {"EigvalsH", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1);
       return {linalg::eigvalsh(in[0], uplo(f))};
     }},
    {"Eigh", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1);
       return linalg::eigh(in[0], uplo(f));
     }},
    {"PseudoInverse", unary_loader([](const array& x) { return linalg::pinv(x); })},
    {"SVDValues", unary_loader([](const array& x) { return linalg::svd_values(x); })},
    {"Eigvals", unary_loader([](const array& x) { return linalg::eigvals(x); })},
    {"Determinant", unary_loader([](const array& x) { return linalg::det(x); })},
    {"SlogDet", unary_loader([](const array& x) { return linalg::slogdet(x); })},
    {"QR", unary_loader([](const array& x) { return linalg::qr(x); })},
    {"SVD", unary_loader([](const array& x) { return linalg::svd(x); })},
    {"Eig", unary_loader([](const array& x) { return linalg::eig(x); })},
    {"LUFactor", unary_loader([](const array& x) { return linalg::lu_factor(x); })},
};

}  // namespace

}  // namespace ember
