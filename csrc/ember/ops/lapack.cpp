// mlx.core.linalg ops: argument checks and dtype promotion, then the LAPACK
// primitives; cholesky_inv, norm and cross are compositions.
#include "ember/ops/lapack.h"

#include <algorithm>
#include <cmath>

#include "ember/errors.h"
#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/primitives/lapack.h"

namespace ember::linalg {

namespace {

// float32 / float64 stay; ints, bool and halves are computed in float32.
array to_real(const char* op, const array& a) {
  if (a.dtype() == Dtype::complex64) {
    throw type_error(msg("[", op, "] complex64 is not supported (float32 and float64 are)."));
  }
  if (a.dtype() == Dtype::float32 || a.dtype() == Dtype::float64) return a;
  return astype(a, Dtype::float32);
}

void require_matrix(const char* op, const array& a) {
  if (a.ndim() < 2) {
    throw std::invalid_argument(msg("[", op, "] Expected an array of matrices (at least 2-D), got "
                                    "shape ", a.shape(), "."));
  }
}

void require_square(const char* op, const array& a) {
  require_matrix(op, a);
  if (a.shape(-1) != a.shape(-2)) {
    throw std::invalid_argument(msg("[", op, "] Expected square matrices, got shape ", a.shape(),
                                    "."));
  }
}

Shape batch_shape(const array& a) { return Shape(a.shape().begin(), a.shape().end() - 2); }

array square_op(const char* op, const array& a) {
  require_square(op, a);
  return to_real(op, a);
}

// solve and solve_triangular: b is a vector when 1-D (numpy 2's rule), else a
// stack of (n, k) right-hand sides; batch axes broadcast against a's.
array solve_impl(const char* op, const array& a_in, const array& b_in, InverseKind kind) {
  require_square(op, a_in);
  if (b_in.ndim() == 0) {
    throw std::invalid_argument(msg("[", op, "] b must have at least one dimension."));
  }
  Dtype t = promote_types(to_real(op, a_in).dtype(), to_real(op, b_in).dtype());
  array a = astype(a_in, t), b = astype(b_in, t);
  const int64_t n = a.shape(-1);
  const bool vec = b.ndim() == 1;
  if (vec) b = reshape(b, {b.shape(0), 1});
  if (b.shape(-2) != n) {
    throw std::invalid_argument(msg("[", op, "] a (shape ", a_in.shape(), ") and b (shape ",
                                    b_in.shape(), ") do not match: b needs ", n,
                                    vec ? " elements." : " rows."));
  }
  Shape batch = broadcast_shapes(op, batch_shape(a), Shape(b.shape().begin(), b.shape().end() - 2));
  Shape sa = batch, sb = batch;
  sa.push_back(n), sa.push_back(n);
  sb.push_back(n), sb.push_back(b.shape(-1));
  array x = make_node<Solve>(sb, t, {broadcast_to(a, sa), broadcast_to(b, sb)}, kind);
  if (!vec) return x;
  Shape out = batch;
  out.push_back(n);
  return reshape(x, out);
}

}  // namespace

array inv(const array& a) {
  array x = square_op("linalg.inv", a);
  return make_node<Inverse>(x.shape(), x.dtype(), {x}, InverseKind::general);
}

array tri_inv(const array& a, bool upper) {
  array x = square_op("linalg.tri_inv", a);
  return make_node<Inverse>(x.shape(), x.dtype(), {x},
                            upper ? InverseKind::upper : InverseKind::lower);
}

array pinv(const array& a) {
  require_matrix("linalg.pinv", a);
  array x = to_real("linalg.pinv", a);
  Shape s = batch_shape(x);
  s.push_back(x.shape(-1));
  s.push_back(x.shape(-2));
  return make_node<PseudoInverse>(s, x.dtype(), {x});
}

array solve(const array& a, const array& b) {
  return solve_impl("linalg.solve", a, b, InverseKind::general);
}

array solve_triangular(const array& a, const array& b, bool upper) {
  return solve_impl("linalg.solve_triangular", a, b, upper ? InverseKind::upper : InverseKind::lower);
}

array cholesky(const array& a, bool upper) {
  array x = square_op("linalg.cholesky", a);
  return make_node<Cholesky>(x.shape(), x.dtype(), {x}, upper);
}

array cholesky_inv(const array& factor, bool upper) {
  array f = square_op("linalg.cholesky_inv", factor);
  array finv = tri_inv(f, upper);
  // a = L L^T -> a^-1 = L^-T L^-1;  a = U^T U -> a^-1 = U^-1 U^-T
  array ft = swapaxes(finv, -1, -2);
  return upper ? matmul(finv, ft) : matmul(ft, finv);
}

array svd_values(const array& a) {
  require_matrix("linalg.svd", a);
  array x = to_real("linalg.svd", a);
  Shape s = batch_shape(x);
  s.push_back(std::min(x.shape(-1), x.shape(-2)));
  return make_node<SVDValues>(s, x.dtype(), {x});
}

namespace {
bool parse_uplo(const char* op, const std::string& uplo) {
  if (uplo != "L" && uplo != "U") {
    throw std::invalid_argument(msg("[", op, "] UPLO must be \"L\" or \"U\", got \"", uplo, "\"."));
  }
  return uplo == "U";
}
}  // namespace

array eigvalsh(const array& a, const std::string& uplo) {
  bool upper = parse_uplo("linalg.eigvalsh", uplo);
  array x = square_op("linalg.eigvalsh", a);
  Shape s = batch_shape(x);
  s.push_back(x.shape(-1));
  return make_node<EighPart>(s, x.dtype(), {x}, false, upper);
}

array eigvecsh(const array& a, const std::string& uplo) {
  bool upper = parse_uplo("linalg.eigh", uplo);
  array x = square_op("linalg.eigh", a);
  return make_node<EighPart>(x.shape(), x.dtype(), {x}, true, upper);
}

array eigvals(const array& a) {
  array x = square_op("linalg.eigvals", a);
  Shape s = batch_shape(x);
  s.push_back(x.shape(-1));
  return make_node<Eigvals>(s, Dtype::complex64, {x});
}

array det(const array& a) {
  array x = square_op("linalg.det", a);
  return make_node<Determinant>(batch_shape(x), x.dtype(), {x});
}

array norm(const array& a, const NormOrd& ord, const std::optional<std::vector<int>>& axis,
           bool keepdims) {
  const char* op = "linalg.norm";
  array x = is_inexact(a.dtype()) ? a : astype(a, Dtype::float32);
  array mag = abs(x);  // real, also for complex64
  auto sum_sq = [&](const std::vector<int>& ax) {
    return sqrt(sum(square(mag), ax, keepdims));
  };
  std::vector<int> ax;
  if (axis) {
    ax = normalize_axes(op, *axis, x.ndim());
  } else {
    if (std::holds_alternative<std::monostate>(ord)) {
      // No ord, no axis: the 2-norm of the flattened array, whatever its rank.
      std::vector<int> all(x.ndim());
      for (int i = 0; i < x.ndim(); ++i) all[i] = i;
      return sum_sq(all);
    }
    if (x.ndim() != 1 && x.ndim() != 2) {
      throw std::invalid_argument(msg("[", op, "] With ord given and axis=None, the input must be "
                                      "1-D or 2-D, got shape ", a.shape(), "."));
    }
    for (int i = 0; i < x.ndim(); ++i) ax.push_back(i);
  }
  if (ax.size() == 1) {
    if (std::holds_alternative<std::string>(ord)) {
      throw std::invalid_argument(msg("[", op, "] ord \"", std::get<std::string>(ord),
                                      "\" is a matrix norm; a vector norm (one axis) needs a number."));
    }
    if (std::holds_alternative<std::monostate>(ord)) return sum_sq(ax);
    double p = std::get<double>(ord);
    if (p == 2.0) return sum_sq(ax);
    if (std::isinf(p)) return p > 0 ? max(mag, ax, keepdims) : min(mag, ax, keepdims);
    if (p == 0.0) return astype(sum(not_equal(mag, zeros({}, mag.dtype())), ax, keepdims), mag.dtype());
    if (p == 1.0) return sum(mag, ax, keepdims);
    array pw = detail::scalar_like(p, mag);
    return power(sum(power(mag, pw), ax, keepdims), detail::scalar_like(1.0 / p, mag));
  }
  if (ax.size() != 2) {
    throw std::invalid_argument(msg("[", op, "] axis must name one or two axes, got ", ax.size(), "."));
  }
  int r = ax[0], c = ax[1];
  if (std::holds_alternative<std::monostate>(ord)) return sum_sq(ax);
  if (std::holds_alternative<std::string>(ord)) {
    const std::string& s = std::get<std::string>(ord);
    if (s == "fro") return sum_sq(ax);
    if (s != "nuc") {
      throw std::invalid_argument(msg("[", op, "] Unknown matrix norm \"", s, "\" (\"fro\", \"nuc\")."));
    }
  }
  // Singular-value norms: the two axes moved last (r, then c); the other axes
  // keep their order, and keepdims puts size-1 axes back at r and c.
  auto singular_values = [&]() { return svd_values(moveaxis(moveaxis(x, r, -1), c < r ? c : c - 1, -1)); };
  auto finish = [&](array v) {
    if (!keepdims) return v;
    std::vector<int> where_ax = {std::min(r, c), std::max(r, c)};
    return expand_dims(v, where_ax);
  };
  if (std::holds_alternative<std::string>(ord)) {
    return finish(sum(singular_values(), std::vector<int>{-1}));
  }
  double p = std::get<double>(ord);
  if (p == 2.0) return finish(max(singular_values(), std::vector<int>{-1}));
  if (p == -2.0) return finish(min(singular_values(), std::vector<int>{-1}));
  // Induced 1 / inf norms: the largest (smallest) column / row sum of |a|.
  if (p == 1.0 || p == -1.0 || std::isinf(p)) {
    bool cols = p == 1.0 || p == -1.0;
    int sum_axis = cols ? r : c, keep_axis = cols ? c : r;
    array sums = sum(mag, std::vector<int>{sum_axis}, true);
    bool largest = p > 0;
    array out = largest ? max(sums, std::vector<int>{keep_axis}, true)
                        : min(sums, std::vector<int>{keep_axis}, true);
    return keepdims ? out : squeeze(out, {r, c});
  }
  throw std::invalid_argument(msg("[", op, "] Unsupported matrix norm order ", p,
                                  " (use 1, -1, 2, -2, inf, -inf, \"fro\" or \"nuc\")."));
}

array cross(const array& a, const array& b, int axis) {
  auto xs = broadcast_arrays({a, b}, "linalg.cross");
  if (xs[0].ndim() == 0) {
    throw std::invalid_argument("[linalg.cross] Inputs must have at least one dimension.");
  }
  int ax = normalize_axis("linalg.cross", axis, xs[0].ndim());
  if (xs[0].shape(ax) != 3) {
    throw std::invalid_argument(msg("[linalg.cross] Axis ", axis, " must have size 3, got shapes ",
                                    a.shape(), " and ", b.shape(), "."));
  }
  auto pa = split(xs[0], 3, ax), pb = split(xs[1], 3, ax);
  return concatenate({subtract(multiply(pa[1], pb[2]), multiply(pa[2], pb[1])),
                      subtract(multiply(pa[2], pb[0]), multiply(pa[0], pb[2])),
                      subtract(multiply(pa[0], pb[1]), multiply(pa[1], pb[0]))},
                     ax);
}

}  // namespace ember::linalg
