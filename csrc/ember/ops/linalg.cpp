// Linear algebra ops: matmul builds the one Matmul node; outer, inner,
// tensordot and einsum are compositions of it with transpose / reshape.
#include "ember/ops/linalg.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <map>
#include <numeric>
#include <cmath>

#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/errors.h"
#include "ember/primitives/linalg.h"

namespace ember {

namespace {

int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i) n *= s[i];
  return n;
}

bool is_identity(const std::vector<int>& perm) {
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] != int(i)) return false;
  }
  return true;
}

// The contraction behind tensordot and inner: moves a's contracted axes last
// and b's first, so one matmul of (free_a, C) @ (C, free_b) does the work.
array contract(const char* op, const array& a, const array& b, const std::vector<int>& axes_a,
               const std::vector<int>& axes_b) {
  if (axes_a.size() != axes_b.size()) {
    throw std::invalid_argument(msg("[", op, "] axes_a and axes_b must have the same length, got ",
                                    axes_a.size(), " and ", axes_b.size(), "."));
  }
  auto ca = normalize_axes(op, axes_a, a.ndim());
  auto cb = normalize_axes(op, axes_b, b.ndim());
  for (size_t i = 0; i < ca.size(); ++i) {
    if (a.shape(ca[i]) != b.shape(cb[i])) {
      throw std::invalid_argument(msg("[", op, "] Axis ", ca[i], " of a (shape ", a.shape(),
                                      ") has size ", a.shape(ca[i]), " but axis ", cb[i],
                                      " of b (shape ", b.shape(), ") has size ", b.shape(cb[i]),
                                      "."));
    }
  }
  auto free_axes = [](const std::vector<int>& contracted, int ndim) {
    std::vector<int> out;
    for (int d = 0; d < ndim; ++d) {
      if (std::find(contracted.begin(), contracted.end(), d) == contracted.end()) out.push_back(d);
    }
    return out;
  };
  std::vector<int> fa = free_axes(ca, a.ndim()), fb = free_axes(cb, b.ndim());
  Shape out_shape;
  int64_t m = 1, n = 1, k = 1;
  for (int d : fa) out_shape.push_back(a.shape(d)), m *= a.shape(d);
  for (int d : fb) out_shape.push_back(b.shape(d)), n *= b.shape(d);
  for (int d : ca) k *= a.shape(d);
  shape_size(out_shape, op);
  std::vector<int> pa = fa, pb = cb;
  pa.insert(pa.end(), ca.begin(), ca.end());
  pb.insert(pb.end(), fb.begin(), fb.end());
  array x = is_identity(pa) ? a : transpose(a, pa);
  array y = is_identity(pb) ? b : transpose(b, pb);
  return reshape(matmul(reshape(x, {m, k}), reshape(y, {k, n})), out_shape);
}

}  // namespace

array matmul(const array& a_in, const array& b_in) {
  if (a_in.ndim() == 0 || b_in.ndim() == 0) {
    throw std::invalid_argument(msg("[matmul] Inputs must have at least one dimension, got shapes ",
                                    a_in.shape(), " and ", b_in.shape(), "."));
  }
  // numpy: a 1-D a is a row (1, K) and a 1-D b a column (K, 1); the added
  // dimension is dropped from the result.
  const bool vec_a = a_in.ndim() == 1, vec_b = b_in.ndim() == 1;
  array a = vec_a ? reshape(a_in, {1, a_in.shape(0)}) : a_in;
  array b = vec_b ? reshape(b_in, {b_in.shape(0), 1}) : b_in;
  const int na = a.ndim(), nb = b.ndim();
  const int64_t M = a.shape(na - 2), K = a.shape(na - 1), N = b.shape(nb - 1);
  if (b.shape(nb - 2) != K) {
    throw std::invalid_argument(
        msg("[matmul] ", vec_a ? "Length" : "Last dimension", " of a (shape ", a_in.shape(),
            ") must match ", vec_b ? "length" : "second-to-last dimension", " of b (shape ",
            b_in.shape(), ")."));
  }
  // Batch dims broadcast like numpy, but stay unbroadcast in the node: the
  // kernel reads a missing or size-1 batch dim with stride 0.
  Shape batch(std::max(na, nb) - 2, 1);
  for (int i = 0; i < int(batch.size()); ++i) {
    int ia = i - (int(batch.size()) - (na - 2)), ib = i - (int(batch.size()) - (nb - 2));
    int64_t da = ia >= 0 ? a.shape(ia) : 1, db = ib >= 0 ? b.shape(ib) : 1;
    if (da != db && da != 1 && db != 1) {
      throw std::invalid_argument(msg("[matmul] Batch dimensions of a (shape ", a_in.shape(),
                                      ") and b (shape ", b_in.shape(),
                                      ") cannot be broadcast together."));
    }
    batch[i] = da == 1 ? db : da;
  }
  Dtype t = promote_types(a.dtype(), b.dtype());
  if (is_inexact(t) && (M > INT_MAX || N > INT_MAX || K > INT_MAX)) {
    throw std::invalid_argument(msg("[matmul] Matrix sizes M=", M, ", N=", N, ", K=", K,
                                    " exceed the BLAS limit of ", INT_MAX, " (32-bit indices)."));
  }
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  shape_size(out_shape, "matmul");
  array out = make_node<Matmul>(out_shape, t, {astype(a, t), astype(b, t)});
  if (!vec_a && !vec_b) return out;
  Shape final_shape = batch;
  if (!vec_a) final_shape.push_back(M);
  if (!vec_b) final_shape.push_back(N);
  return reshape(out, final_shape);
}

// A matmul with K = 1 rather than a broadcast multiply: its gradients are
// matmuls too, with no sum over a broadcast axis.
array outer(const array& a, const array& b) {
  return matmul(reshape(a, {a.size(), 1}), reshape(b, {1, b.size()}));
}

array inner(const array& a, const array& b) {
  if (a.ndim() == 0 || b.ndim() == 0) return multiply(a, b);
  if (a.shape(-1) != b.shape(-1)) {
    throw std::invalid_argument(msg("[inner] Last dimensions of a (shape ", a.shape(),
                                    ") and b (shape ", b.shape(), ") must match."));
  }
  return contract("inner", a, b, {a.ndim() - 1}, {b.ndim() - 1});
}

array tensordot(const array& a, const array& b, int axes) {
  if (axes < 0) {
    throw std::invalid_argument(msg("[tensordot] axes must be >= 0, got ", axes, "."));
  }
  if (axes > a.ndim() || axes > b.ndim()) {
    throw std::invalid_argument(msg("[tensordot] Cannot contract ", axes, " axes of a (shape ",
                                    a.shape(), ") with b (shape ", b.shape(), ")."));
  }
  std::vector<int> axes_a(axes), axes_b(axes);
  std::iota(axes_a.begin(), axes_a.end(), a.ndim() - axes);
  std::iota(axes_b.begin(), axes_b.end(), 0);
  return contract("tensordot", a, b, axes_a, axes_b);
}

array tensordot(const array& a, const array& b, const std::vector<int>& axes_a,
                const std::vector<int>& axes_b) {
  return contract("tensordot", a, b, axes_a, axes_b);
}

// ---- einsum ----------------------------------------------------------------
// Plan: take each operand's diagonals (repeated letters), sum out the letters
// no one else needs, then contract the operands left to right, two at a time:
// letters shared and still needed become matmul batch dims, letters shared and
// not needed any more become its K, the rest its M and N. Sums are matmuls
// with a vector of ones, so einsum needs nothing beyond matmul.

namespace {

struct Term {
  array x;
  std::string idx;  // one distinct letter per axis of x
};

// Sums x over `axes` (x @ ones, or ones @ x when the axes lead).
array sum_axes(const array& x, const std::vector<int>& axes) {
  if (axes.empty()) return x;
  std::vector<int> keep, perm;
  Shape keep_shape;
  int64_t p = 1, q = 1;
  for (int d = 0; d < x.ndim(); ++d) {
    if (std::find(axes.begin(), axes.end(), d) != axes.end()) {
      q *= x.shape(d);
    } else {
      keep.push_back(d);
      keep_shape.push_back(x.shape(d));
      p *= x.shape(d);
    }
  }
  array ones_q = ones({q}, x.dtype());
  // Summed axes all in front: ones @ x reads x in place.
  std::vector<int> sorted = axes;
  std::sort(sorted.begin(), sorted.end());
  bool leading = sorted.back() == int(sorted.size()) - 1;
  array y;
  if (leading) {
    y = matmul(ones_q, reshape(x, {q, p}));
  } else {
    perm = keep;
    perm.insert(perm.end(), sorted.begin(), sorted.end());
    array xt = is_identity(perm) ? x : transpose(x, perm);
    y = matmul(reshape(xt, {p, q}), ones_q);
  }
  return reshape(y, keep_shape);
}

// Keeps the diagonal of every letter repeated in t.idx: multiplies by an
// identity mask over the two axes and sums out the second one.
Term take_diagonals(Term t) {
  for (size_t p = 0; p < t.idx.size(); ++p) {
    size_t q;
    while ((q = t.idx.find(t.idx[p], p + 1)) != std::string::npos) {
      int64_t n = t.x.shape(int(p));
      Shape mask_shape(t.x.ndim(), 1);
      mask_shape[p] = n;
      mask_shape[q] = n;
      array mask = reshape(eye(n, n, 0, Dtype::bool_), mask_shape);
      array masked = where(mask, t.x, zeros({}, t.x.dtype()));
      t.x = sum_axes(masked, {int(q)});
      t.idx.erase(q, 1);
    }
  }
  return t;
}

// Sums out the letters of t that are not in `needed`.
Term sum_unneeded(Term t, const std::string& needed) {
  std::vector<int> axes;
  std::string idx;
  for (size_t d = 0; d < t.idx.size(); ++d) {
    if (needed.find(t.idx[d]) == std::string::npos) axes.push_back(int(d));
    else idx.push_back(t.idx[d]);
  }
  if (axes.empty()) return t;
  return {sum_axes(t.x, axes), idx};
}

// Contracts two terms; `needed` holds the letters still used afterwards.
Term contract_pair(const Term& x, const Term& y, const std::string& needed,
                   const std::map<char, int64_t>& sizes) {
  std::string batch, free_x, free_y, summed;
  for (char c : x.idx) {
    bool in_y = y.idx.find(c) != std::string::npos;
    if (!in_y) free_x.push_back(c);
    else if (needed.find(c) != std::string::npos) batch.push_back(c);
    else summed.push_back(c);
  }
  for (char c : y.idx) {
    if (x.idx.find(c) == std::string::npos) free_y.push_back(c);
  }
  auto size_of_letters = [&](const std::string& s) {
    int64_t n = 1;
    for (char c : s) n = checked_mul("einsum", n, sizes.at(c));
    return n;
  };
  auto arrange = [](const Term& t, const std::string& order) {
    std::vector<int> perm;
    for (char c : order) perm.push_back(int(t.idx.find(c)));
    return is_identity(perm) ? t.x : transpose(t.x, perm);
  };
  int64_t nb = size_of_letters(batch), m = size_of_letters(free_x), n = size_of_letters(free_y),
          k = size_of_letters(summed);
  Shape xs{m, k}, ys{k, n};
  if (!batch.empty()) {
    xs.insert(xs.begin(), nb);
    ys.insert(ys.begin(), nb);
  }
  array xm = reshape(arrange(x, batch + free_x + summed), xs);
  array ym = reshape(arrange(y, batch + summed + free_y), ys);
  std::string idx = batch + free_x + free_y;
  Shape shape;
  for (char c : idx) shape.push_back(sizes.at(c));
  return {reshape(matmul(xm, ym), shape), idx};
}

}  // namespace

array einsum(const std::string& subscripts, const std::vector<array>& operands) {
  std::string s;
  for (char c : subscripts) {
    if (!std::isspace(static_cast<unsigned char>(c))) s.push_back(c);
  }
  if (operands.empty()) throw std::invalid_argument("[einsum] Needs at least one operand.");
  size_t arrow = s.find("->");
  const bool explicit_out = arrow != std::string::npos;
  std::string lhs = s.substr(0, arrow);
  std::string out_idx = explicit_out ? s.substr(arrow + 2) : "";
  for (char c : lhs + out_idx) {
    if (c != ',' && c != '.' && !std::isalpha(static_cast<unsigned char>(c))) {
      throw std::invalid_argument(msg("[einsum] Invalid character '", c, "' in subscripts '",
                                      subscripts, "'; use letters a-z, A-Z, '...', ',' and '->'."));
    }
  }
  if (out_idx.find(',') != std::string::npos) {
    throw std::invalid_argument(msg("[einsum] The output of '", subscripts,
                                    "' must be one term (no ',')."));
  }
  std::vector<Term> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back({array(), lhs.substr(start, comma - start)});
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != operands.size()) {
    throw std::invalid_argument(msg("[einsum] Subscripts '", subscripts, "' name ", terms.size(),
                                    " operand(s) but ", operands.size(), " were given."));
  }
  // Where a term has "...", it stands for the operand's axes that no letter
  // names. Those axes get private labels (chars 1, 2, ..., never letters),
  // aligned from the right across operands so they broadcast like numpy's.
  auto ellipsis_at = [&](const std::string& term) {
    size_t pos = term.find("...");
    size_t dots = std::count(term.begin(), term.end(), '.');
    if (dots != (pos == std::string::npos ? 0 : 3)) {
      throw std::invalid_argument(msg("[einsum] '.' may only appear as one '...' per term, in '",
                                      subscripts, "'."));
    }
    return pos;
  };
  std::vector<int> ellipsis_dims(terms.size(), 0);
  int num_ellipsis = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    const std::string& idx = terms[i].idx;
    size_t pos = ellipsis_at(idx);
    int letters = int(idx.size()) - (pos == std::string::npos ? 0 : 3);
    const array& x = operands[i];
    if (pos == std::string::npos ? letters != x.ndim() : letters > x.ndim()) {
      throw std::invalid_argument(msg("[einsum] Operand ", i, " has shape ", x.shape(), " (",
                                      x.ndim(), " dimensions) but its subscripts '", idx,
                                      "' name ", letters, "."));
    }
    if (pos != std::string::npos) ellipsis_dims[i] = x.ndim() - letters;
    num_ellipsis = std::max(num_ellipsis, ellipsis_dims[i]);
  }
  std::string ellipsis_labels;
  for (int k = 0; k < num_ellipsis; ++k) ellipsis_labels.push_back(char(1 + k));
  for (size_t i = 0; i < terms.size(); ++i) {
    std::string& idx = terms[i].idx;
    size_t pos = idx.find("...");
    if (pos != std::string::npos) {
      idx.replace(pos, 3, ellipsis_labels.substr(num_ellipsis - ellipsis_dims[i]));
    }
  }
  if (explicit_out) {
    size_t pos = ellipsis_at(out_idx);
    if (pos != std::string::npos) {
      out_idx.replace(pos, 3, ellipsis_labels);
    } else if (num_ellipsis > 0) {
      throw std::invalid_argument(msg("[einsum] The inputs of '", subscripts,
                                      "' have '...' axes, so the output must have '...' too."));
    }
  }
  auto describe = [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) ? msg("Index '", c, "'")
                                                        : std::string("An axis of '...'");
  };
  // Sizes per letter; a size-1 axis broadcasts against a larger one (numpy).
  std::map<char, int64_t> sizes;
  std::map<char, int> count;
  for (size_t i = 0; i < terms.size(); ++i) {
    const array& x = operands[i];
    const std::string& idx = terms[i].idx;
    for (size_t d = 0; d < idx.size(); ++d) {
      char c = idx[d];
      ++count[c];
      int64_t n = x.shape(int(d));
      auto it = sizes.find(c);
      if (it == sizes.end() || it->second == 1) {
        sizes[c] = n;
      } else if (n != it->second && n != 1) {
        throw std::invalid_argument(msg("[einsum] ", describe(c), " has size ", it->second,
                                        " in one operand but size ", n, " in operand ", i,
                                        " (shape ", x.shape(), ")."));
      }
    }
  }
  if (explicit_out) {
    for (size_t i = 0; i < out_idx.size(); ++i) {
      if (!count.count(out_idx[i])) {
        throw std::invalid_argument(msg("[einsum] Output index '", out_idx[i],
                                        "' does not appear in the inputs of '", subscripts, "'."));
      }
      if (out_idx.find(out_idx[i], i + 1) != std::string::npos) {
        throw std::invalid_argument(msg("[einsum] Output index '", out_idx[i],
                                        "' appears more than once in '", subscripts, "'."));
      }
    }
  } else {
    // numpy's implicit output: the '...' axes, then the letters used once in
    // character order.
    out_idx = ellipsis_labels;
    for (auto& [c, n] : count) {
      if (n == 1 && std::isalpha(static_cast<unsigned char>(c))) out_idx.push_back(c);
    }
  }
  {
    Shape out_shape;
    for (char c : out_idx) out_shape.push_back(sizes[c]);
    shape_size(out_shape, "einsum");
  }
  for (size_t i = 0; i < terms.size(); ++i) {
    Shape full;
    for (char c : terms[i].idx) full.push_back(sizes[c]);
    terms[i].x = broadcast_to(operands[i], full);
    terms[i] = take_diagonals(std::move(terms[i]));
  }
  // Letters needed once operands [0, i] are combined: the output's and those
  // of the operands after i.
  auto needed_after = [&](size_t i) {
    std::string needed = out_idx;
    for (size_t j = i + 1; j < terms.size(); ++j) needed += terms[j].idx;
    return needed;
  };
  Term acc = sum_unneeded(terms[0], needed_after(0));
  for (size_t i = 1; i < terms.size(); ++i) {
    // Letters of operand i nobody else uses are summed before the product.
    std::string others = needed_after(i) + acc.idx;
    Term t = sum_unneeded(terms[i], others);
    acc = contract_pair(acc, t, needed_after(i), sizes);
  }
  acc = sum_unneeded(acc, out_idx);
  std::vector<int> perm;
  for (char c : out_idx) perm.push_back(int(acc.idx.find(c)));
  return is_identity(perm) ? acc.x : transpose(acc.x, perm);
}

}  // namespace ember

namespace ember {

array addmm(const array& c, const array& a, const array& b, double alpha, double beta) {
  array p = matmul(a, b);
  if (alpha != 1.0) p = multiply(p, detail::scalar_like(alpha, p));
  Dtype t = promote_types(p.dtype(), c.dtype());
  Shape s = broadcast_shapes("addmm", c.shape(), p.shape());
  if (s != p.shape()) {
    throw std::invalid_argument(msg("[addmm] c (shape ", c.shape(),
                                    ") must broadcast to the shape of a @ b, ", p.shape(), "."));
  }
  array cc = astype(c, t);
  if (beta != 1.0) cc = multiply(cc, detail::scalar_like(beta, cc));
  return add(cc, astype(p, t));
}

array kron(const array& a, const array& b) {
  // Interleave the axes: a as (a0, 1, a1, 1, ...), b as (1, b0, 1, b1, ...); the
  // product, reshaped to (a0*b0, a1*b1, ...), is the block matrix.
  int nd = std::max(a.ndim(), b.ndim());
  Shape sa(nd - a.ndim(), 1), sb(nd - b.ndim(), 1);
  sa.insert(sa.end(), a.shape().begin(), a.shape().end());
  sb.insert(sb.end(), b.shape().begin(), b.shape().end());
  Shape ia, ib, out;
  for (int i = 0; i < nd; ++i) {
    ia.push_back(sa[i]), ia.push_back(1);
    ib.push_back(1), ib.push_back(sb[i]);
    out.push_back(sa[i] * sb[i]);
  }
  return reshape(multiply(reshape(a, ia), reshape(b, ib)), out);
}

array vecdot(const array& a, const array& b, int axis) {
  auto xs = broadcast_arrays({a, b}, "vecdot");
  if (xs[0].ndim() == 0) {
    throw std::invalid_argument("[vecdot] Inputs must have at least one dimension.");
  }
  int ax = normalize_axis("vecdot", axis, xs[0].ndim());
  array x = xs[0].dtype() == Dtype::complex64 ? conjugate(xs[0]) : xs[0];
  return sum(multiply(x, xs[1]), std::vector<int>{ax});
}

array trace(const array& a, int offset, int axis1, int axis2, std::optional<Dtype> dtype) {
  array d = diagonal(a, offset, axis1, axis2);
  array s = sum(d, std::vector<int>{-1});
  return dtype ? astype(s, *dtype) : s;
}

array hadamard_transform(const array& a, std::optional<double> scale) {
  if (a.ndim() == 0) {
    throw std::invalid_argument("[hadamard_transform] Input must have at least one dimension.");
  }
  int64_t n = a.shape(-1);
  if (n <= 0 || (n & (n - 1)) != 0) {
    throw std::invalid_argument(msg("[hadamard_transform] The last axis must have a power-of-two "
                                    "size, got shape ", a.shape(), "."));
  }
  Dtype t = is_inexact(a.dtype()) ? a.dtype() : Dtype::float32;
  array x = astype(a, t);
  // H_n = H_2 (x) H_{n/2}: with the last axis viewed as (n/2h, 2, h), one butterfly
  // step (x0 + x1, x0 - x1) per factor of two, log2(n) steps in all.
  Shape lead(a.shape().begin(), a.shape().end() - 1);
  for (int64_t h = 1; h < n; h *= 2) {
    Shape s = lead;
    s.push_back(n / (2 * h));
    s.push_back(2);
    s.push_back(h);
    array y = reshape(x, s);
    int ax = int(s.size()) - 2;
    auto parts = split(y, 2, ax);
    x = reshape(concatenate({add(parts[0], parts[1]), subtract(parts[0], parts[1])}, ax), a.shape());
  }
  double sc = scale ? *scale : 1.0 / std::sqrt(double(n));
  return sc == 1.0 ? x : multiply(x, detail::scalar_like(sc, x));
}

}  // namespace ember

// ---- the gathered, block-masked and segmented products ---------------------------------

namespace ember {

namespace {

// A float dtype for both operands of a masked / gathered / segmented product.
Dtype float_product_dtype(const char* op, const array& a, const array& b) {
  Dtype t = promote_types(a.dtype(), b.dtype());
  if (!is_floating(t)) {
    throw type_error(msg("[", op, "] Needs float operands, got ", dtype_name(a.dtype()), " and ",
                         dtype_name(b.dtype()), "."));
  }
  return t;
}

// The operands of a float product as matmul takes them: a 1-D a is a row, a 1-D b a column
// (dropped again by drop_vector_dims), inner dims checked, one float dtype t for both.
struct FloatOperands {
  array a, b;
  bool vec_a, vec_b;
  Dtype t;
};

FloatOperands float_operands(const char* op, const array& a_in, const array& b_in) {
  if (a_in.ndim() == 0 || b_in.ndim() == 0) {
    throw std::invalid_argument(msg("[", op, "] Inputs must have at least one dimension, got "
                                    "shapes ", a_in.shape(), " and ", b_in.shape(), "."));
  }
  const bool vec_a = a_in.ndim() == 1, vec_b = b_in.ndim() == 1;
  array a = vec_a ? reshape(a_in, {1, a_in.shape(0)}) : a_in;
  array b = vec_b ? reshape(b_in, {b_in.shape(0), 1}) : b_in;
  if (a.shape(-1) != b.shape(-2)) {
    throw std::invalid_argument(msg("[", op, "] Last dimension of a (shape ", a_in.shape(),
                                    ") must match the second-to-last dimension of b (shape ",
                                    b_in.shape(), ")."));
  }
  return {a, b, vec_a, vec_b, float_product_dtype(op, a, b)};
}

array drop_vector_dims(const array& out, bool vec_a, bool vec_b) {
  std::vector<int> drop;
  if (vec_a) drop.push_back(out.ndim() - 2);
  if (vec_b) drop.push_back(out.ndim() - 1);
  return drop.empty() ? out : squeeze(out, drop);
}

// The flat batch indices of every matrix of a: arange reshaped to its batch dims.
array every_matrix(const array& a) {
  Shape batch(a.shape().begin(), a.shape().end() - 2);
  return reshape(arange(0, double(detail::matrices(a)), 1, Dtype::uint32), batch);
}

}  // namespace

array gather_mm(const array& a_in, const array& b_in, const std::optional<array>& lhs_indices,
                const std::optional<array>& rhs_indices, bool sorted_indices) {
  const char* op = "gather_mm";
  (void)sorted_indices;  // the kernel finds runs of equal indices by itself
  if (!lhs_indices && !rhs_indices) return matmul(a_in, b_in);
  auto [a, b, vec_a, vec_b, t] = float_operands(op, a_in, b_in);
  for (auto* idx : {&lhs_indices, &rhs_indices}) {
    if (*idx && !is_integral((*idx)->dtype())) {
      throw type_error(msg("[", op, "] Indices must be integers, got ",
                           dtype_name((*idx)->dtype()), "."));
    }
  }
  auto idx = broadcast_arrays({lhs_indices ? *lhs_indices : every_matrix(a),
                               rhs_indices ? *rhs_indices : every_matrix(b)}, op);
  Shape out_shape = idx[0].shape();
  out_shape.push_back(a.shape(-2));
  out_shape.push_back(b.shape(-1));
  shape_size(out_shape, op);
  return drop_vector_dims(
      make_node<GatherMM>(out_shape, t, {astype(a, t), astype(b, t), idx[0], idx[1]}), vec_a,
      vec_b);
}

array block_masked_mm(const array& a_in, const array& b_in, int block_size,
                      const std::optional<array>& mask_out, const std::optional<array>& mask_lhs,
                      const std::optional<array>& mask_rhs) {
  const char* op = "block_masked_mm";
  if (!mask_out && !mask_lhs && !mask_rhs) return matmul(a_in, b_in);
  if (block_size != 32 && block_size != 64) {
    throw std::invalid_argument(msg("[", op, "] block_size must be 32 or 64, got ", block_size, "."));
  }
  auto [a, b, vec_a, vec_b, t] = float_operands(op, a_in, b_in);
  Shape batch = broadcast_shapes(op, Shape(a.shape().begin(), a.shape().end() - 2),
                                 Shape(b.shape().begin(), b.shape().end() - 2));
  const int64_t M = a.shape(-2), K = a.shape(-1), N = b.shape(-1);
  auto blocks = [&](int64_t n) { return (n + block_size - 1) / block_size; };
  auto full_shape = [&](int64_t r, int64_t c) {
    Shape s = batch;
    s.push_back(r);
    s.push_back(c);
    return s;
  };
  a = broadcast_to(astype(a, t), full_shape(M, K));
  b = broadcast_to(astype(b, t), full_shape(K, N));
  // A mask of a vector operand lacks the dropped dim: give it back, then broadcast.
  auto prepare = [&](const array& m, const char* what, int64_t r, int64_t c, Dtype dt, bool row,
                     bool col) {
    if (!is_integral(m.dtype()) && m.dtype() != Dtype::bool_ && !is_floating(m.dtype())) {
      throw type_error(msg("[", op, "] ", what, " must be a bool or real array, got ",
                           dtype_name(m.dtype()), "."));
    }
    array x = m;
    if (row) x = expand_dims(x, {x.ndim() - 1});
    if (col) x = expand_dims(x, {x.ndim()});
    Shape want = full_shape(r, c);
    bool ok = x.ndim() >= 2 && x.ndim() <= int(want.size());
    for (int d = 1; ok && d <= x.ndim(); ++d) {
      int64_t have = x.shape(x.ndim() - d), need = want[want.size() - d];
      ok = have == need || have == 1;
    }
    if (!ok) {
      throw std::invalid_argument(msg("[", op, "] ", what, " (shape ", m.shape(),
                                      ") must broadcast to the block shape ", want, " (blocks of ",
                                      block_size, ")."));
    }
    return broadcast_to(astype(x, dt), want);
  };
  std::vector<array> inputs{a, b};
  if (mask_out) {
    Dtype dt = mask_out->dtype() == Dtype::bool_ ? Dtype::bool_ : t;
    inputs.push_back(prepare(*mask_out, "mask_out", blocks(M), blocks(N), dt, vec_a, vec_b));
  }
  const bool operands = mask_lhs || mask_rhs;
  if (operands) {
    array ml = mask_lhs ? *mask_lhs : full({1, 1}, array(true), Dtype::bool_);
    array mr = mask_rhs ? *mask_rhs : full({1, 1}, array(true), Dtype::bool_);
    Dtype dt = ml.dtype() == Dtype::bool_ && mr.dtype() == Dtype::bool_ ? Dtype::bool_ : t;
    inputs.push_back(prepare(ml, "mask_lhs", blocks(M), blocks(K), dt, vec_a && mask_lhs, false));
    inputs.push_back(prepare(mr, "mask_rhs", blocks(K), blocks(N), dt, false, vec_b && mask_rhs));
  }
  Shape out_shape = full_shape(M, N);
  shape_size(out_shape, op);
  return drop_vector_dims(make_node<BlockMaskedMM>(out_shape, t, std::move(inputs), block_size,
                                                   mask_out.has_value(), operands),
                          vec_a, vec_b);
}

array segmented_mm(const array& a, const array& b, const array& segments) {
  const char* op = "segmented_mm";
  if (a.ndim() != 2 || b.ndim() != 2) {
    throw std::invalid_argument(msg("[", op, "] a and b must be 2-D, got shapes ", a.shape(),
                                    " and ", b.shape(), "."));
  }
  if (a.shape(1) != b.shape(0)) {
    throw std::invalid_argument(msg("[", op, "] Last dimension of a (shape ", a.shape(),
                                    ") must match the first dimension of b (shape ", b.shape(),
                                    ")."));
  }
  if (segments.ndim() < 1 || segments.shape(-1) != 2) {
    throw std::invalid_argument(msg("[", op, "] segments must have shape (..., 2), got ",
                                    segments.shape(), "."));
  }
  if (!is_integral(segments.dtype())) {
    throw type_error(msg("[", op, "] segments must be integers, got ",
                         dtype_name(segments.dtype()), "."));
  }
  Dtype t = float_product_dtype(op, a, b);
  Shape out_shape(segments.shape().begin(), segments.shape().end() - 1);
  out_shape.push_back(a.shape(0));
  out_shape.push_back(b.shape(1));
  shape_size(out_shape, op);
  return make_node<SegmentedMM>(out_shape, t, {astype(a, t), astype(b, t), segments});
}

}  // namespace ember
