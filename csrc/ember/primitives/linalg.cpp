// Transform rules of the linalg family (Matmul), written with ops so they
// nest. The vjp sums a gradient back over the batch dims its operand was
// broadcast along, and folds the batch into one matmul when b is unbatched.
#include "ember/primitives/linalg.h"

#include <algorithm>
#include <climits>

#include "ember/export/fields.h"
#include "ember/ops.h"
#include "ember/ops/helpers.h"

namespace ember {

namespace {

// Swaps the last two axes (a view; the kernel reads it with a trans flag).
array mT(const array& x) { return swapaxes(x, -1, -2); }

// Sums g (G..., r, c) back to `shape` (S..., r, c) where S broadcasts to G:
// over the leading dims S lacks and the dims where S has 1 and G does not.
array unbroadcast(const array& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  int lead = g.ndim() - int(shape.size());
  std::vector<int> axes;
  for (int i = 0; i < g.ndim(); ++i) {
    if (i < lead || (shape[i - lead] == 1 && g.shape(i) != 1)) axes.push_back(i);
  }
  array s = axes.empty() ? g : sum(g, axes, true);
  return reshape(s, shape);
}

// x (..., c) as a matrix (rows, c), with rows spelled out so c == 0 works.
array as_rows(const array& x) {
  int64_t c = x.shape(-1);
  int64_t rows = 1;
  for (int i = 0; i + 1 < x.ndim(); ++i) rows *= x.shape(i);
  return reshape(x, {rows, c});
}

}  // namespace

// d(a @ b) = da @ b + a @ db
array Matmul::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                  const std::vector<int>& argnums, const array&) {
  array result;
  for (size_t i = 0; i < argnums.size(); ++i) {
    array term = argnums[i] == 0 ? matmul(tangents[i], primals[1])
                                 : matmul(primals[0], tangents[i]);
    result = result.valid() ? add(result, term) : term;
  }
  return result;
}

// da = ct @ b^T, db = a^T @ ct (each summed over the batch dims it was broadcast along)
std::vector<array> Matmul::vjp(const std::vector<array>& primals, const array& cotangent,
                               const std::vector<int>& argnums, const array&) {
  const array& a = primals[0];
  const array& b = primals[1];
  std::vector<array> grads;
  for (int arg : argnums) {
    if (arg == 0) {
      grads.push_back(unbroadcast(matmul(cotangent, mT(b)), a.shape()));
    } else if (b.ndim() == 2 && a.ndim() > 2) {
      // One b shared by every matrix of a (x @ W): the batch sum is the
      // contraction over all rows of a, so one gemm does it, without sum.
      grads.push_back(matmul(mT(as_rows(a)), as_rows(cotangent)));
    } else {
      grads.push_back(unbroadcast(matmul(mT(a), cotangent), b.shape()));
    }
  }
  return grads;
}

// Moves each batch axis to the front and pads the batched operands to a
// common batch rank, so matmul's batch broadcasting lines them up. An
// unbatched operand is left alone: broadcasting reads it with stride 0
// (an unbatched b makes the whole batch one gemm), never materialized.
std::pair<array, int> Matmul::vmap(const std::vector<array>& inputs,
                                   const std::vector<BatchAxis>& axes) {
  int rank[2];
  for (int i = 0; i < 2; ++i) rank[i] = inputs[i].ndim() - (axes[i] ? 1 : 0);
  int batch_rank = std::max(rank[0], rank[1]) - 2;
  array x[2];
  for (int i = 0; i < 2; ++i) {
    x[i] = inputs[i];
    if (!axes[i]) continue;
    x[i] = moveaxis(x[i], *axes[i], 0);
    std::vector<int> pad;
    for (int p = 0; p < batch_rank - (rank[i] - 2); ++p) pad.push_back(1 + p);
    if (!pad.empty()) x[i] = expand_dims(x[i], pad);
  }
  return {matmul(x[0], x[1]), 0};
}

}  // namespace ember

// ---- the gathered, block-masked and segmented products ---------------------------------

namespace ember {

namespace detail {

array batch_front(const array& x, const BatchAxis& axis, int64_t n, bool expand) {
  if (axis) return *axis == 0 ? x : moveaxis(x, *axis, 0);
  if (!expand) return x;
  Shape s = x.shape();
  s.insert(s.begin(), n);
  return broadcast_to(expand_dims(x, {0}), s);
}

array wrap_index(const array& idx, int64_t n) {
  array i = astype(idx, Dtype::int64);
  return where(less(i, scalar(0, Dtype::int64)), add(i, scalar(double(n), Dtype::int64)), i);
}

int64_t matrices(const array& a) {
  int64_t n = 1;
  for (int i = 0; i + 2 < a.ndim(); ++i) n *= a.shape(i);
  return n;
}

array flat_matrices(const array& a) { return reshape(a, {matrices(a), a.shape(-2), a.shape(-1)}); }

array scatter_matrices(const array& a, const array& idx, const array& g) {
  array z = zeros({matrices(a), a.shape(-2), a.shape(-1)}, g.dtype());
  return reshape(scatter(z, {idx}, g, true), a.shape());
}

// Position i reads a[lhs[i]] and b[rhs[i]]: da[lhs[i]] += ct[i] @ b[rhs[i]].T and
// db[rhs[i]] += a[lhs[i]].T @ ct[i], summed over the positions (a scatter-add).
std::pair<array, array> gather_mm_grads(const array& a, const array& b, const array& lhs,
                                        const array& rhs, const array& ct, bool need_a,
                                        bool need_b) {
  array l = flatten(wrap_index(lhs, matrices(a)));
  array r = flatten(wrap_index(rhs, matrices(b)));
  const int64_t P = l.size();
  array c = reshape(ct, {P, ct.shape(-2), ct.shape(-1)});
  array pos = arange(0, double(P), 1, Dtype::int64);
  array da, db;
  if (need_a) da = scatter_matrices(a, l, gather_mm(c, swapaxes(b, -1, -2), pos, r));
  if (need_b) db = scatter_matrices(b, r, gather_mm(swapaxes(a, -1, -2), c, l, pos));
  return {da, db};
}

GatherBatch batch_gather(const std::vector<array>& inputs, const std::vector<BatchAxis>& axes,
                         size_t lhs_end, size_t rhs_end) {
  const size_t n_in = inputs.size();
  int64_t B = 1;
  for (size_t i = 0; i < n_in; ++i) {
    if (axes[i]) B = inputs[i].shape(*axes[i]);
  }
  GatherBatch g;
  array lhs = batch_front(inputs[n_in - 2], axes[n_in - 2], B, true);
  array rhs = batch_front(inputs[n_in - 1], axes[n_in - 1], B, true);
  auto side = [&](size_t begin, size_t end, array& idx) {
    bool batched = false;
    for (size_t i = begin; i < end; ++i) batched |= axes[i].has_value();
    // Matrices per batch element (counted without the vmapped axis, which may be empty).
    int64_t per = 1;
    if (batched) {
      array f = batch_front(inputs[begin], axes[begin], B, true);
      for (int d = 1; d + 2 < f.ndim(); ++d) per *= f.shape(d);
    } else {
      per = matrices(inputs[begin]);
    }
    for (size_t i = begin; i < end; ++i) {
      if (!batched) {
        g.inputs.push_back(inputs[i]);
        continue;
      }
      array x = batch_front(inputs[i], axes[i], B, true);
      g.inputs.push_back(reshape(x, {B * per, x.shape(-2), x.shape(-1)}));
    }
    idx = wrap_index(idx, per);
    if (batched) {
      Shape s(idx.ndim(), 1);
      s[0] = B;
      idx = add(idx, reshape(arange(0, double(B * per), double(per), Dtype::int64), s));
    }
  };
  side(0, lhs_end, lhs);
  side(lhs_end, rhs_end, rhs);
  for (size_t i = rhs_end; i + 2 < n_in; ++i) g.inputs.push_back(inputs[i]);
  g.lhs = lhs;
  g.rhs = rhs;
  return g;
}

}  // namespace detail

namespace {

array tangent_for(int arg, const std::vector<array>& tangents, const std::vector<int>& argnums) {
  for (size_t i = 0; i < argnums.size(); ++i) {
    if (argnums[i] == arg) return tangents[i];
  }
  return array();
}

}  // namespace

// d(a[l] @ b[r]) = da[l] @ b[r] + a[l] @ db[r]
array GatherMM::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                    const std::vector<int>& argnums, const array& out) {
  array ta = tangent_for(0, tangents, argnums), tb = tangent_for(1, tangents, argnums);
  array result;
  if (ta.valid()) result = gather_mm(ta, primals[1], primals[2], primals[3]);
  if (tb.valid()) {
    array t = gather_mm(primals[0], tb, primals[2], primals[3]);
    result = result.valid() ? add(result, t) : t;
  }
  return result.valid() ? result : zeros_like(out);
}

std::vector<array> GatherMM::vjp(const std::vector<array>& primals, const array& cotangent,
                                 const std::vector<int>& argnums, const array&) {
  bool need_a = false, need_b = false;
  for (int arg : argnums) need_a |= arg == 0, need_b |= arg == 1;
  auto [da, db] = detail::gather_mm_grads(primals[0], primals[1], primals[2], primals[3],
                                          cotangent, need_a, need_b);
  std::vector<array> grads;
  for (int arg : argnums) {
    grads.push_back(arg == 0 ? da : arg == 1 ? db : zeros_like(primals[arg]));
  }
  return grads;
}

std::pair<array, int> GatherMM::vmap(const std::vector<array>& inputs,
                                     const std::vector<BatchAxis>& axes) {
  auto g = detail::batch_gather(inputs, axes, 1, 2);
  return {gather_mm(g.inputs[0], g.inputs[1], g.lhs, g.rhs), 0};
}

// out = ((a * A) @ (b * B)) * O, with A, B, O the masks spread over their blocks (a bool
// mask selects instead of multiplying). Linear in a and in b; a float mask's cotangent is
// the block sums of (its operand * the cotangent reaching it).

namespace {

// The block mask m (..., ceil(rows / bs), ceil(cols / bs)) spread over (..., rows, cols).
array spread(const array& m, int bs, int64_t rows, int64_t cols) {
  array e = repeat(repeat(m, bs, -2), bs, -1);
  std::vector<int64_t> start(e.ndim(), 0), stop(e.shape().begin(), e.shape().end());
  stop[e.ndim() - 2] = rows;
  stop[e.ndim() - 1] = cols;
  return slice(e, start, stop, std::vector<int64_t>(e.ndim(), 1));
}

array apply_mask(const array& x, const array& m, int bs) {
  array e = spread(m, bs, x.shape(-2), x.shape(-1));
  if (m.dtype() == Dtype::bool_) return where(e, x, zeros_like(x));
  return multiply(x, astype(e, x.dtype()));
}

// Sums x (..., rows, cols) over each bs x bs block: (..., ceil(rows / bs), ceil(cols / bs)).
array block_sums(const array& x, int bs) {
  const int64_t r = x.shape(-2), c = x.shape(-1);
  const int64_t tr = (r + bs - 1) / bs, tc = (c + bs - 1) / bs;
  std::vector<std::pair<int64_t, int64_t>> widths(x.ndim(), {0, 0});
  widths[x.ndim() - 2] = {0, tr * bs - r};
  widths[x.ndim() - 1] = {0, tc * bs - c};
  array p = pad(x, widths);
  Shape s(x.shape().begin(), x.shape().end() - 2);
  s.insert(s.end(), {tr, int64_t(bs), tc, int64_t(bs)});
  int nd = int(s.size());
  return sum(reshape(p, s), std::vector<int>{nd - 3, nd - 1});
}

}  // namespace

array BlockMaskedMM::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                         const std::vector<int>& argnums, const array& out) {
  std::vector<array> rest(primals.begin() + 2, primals.end());
  auto call = [&](const array& a, const array& b) {
    std::optional<array> mo, ml, mr;
    size_t i = 0;
    if (has_out_) mo = rest[i++];
    if (has_operands_) ml = rest[i++], mr = rest[i++];
    return block_masked_mm(a, b, block_size_, mo, ml, mr);
  };
  array result;
  array ta = tangent_for(0, tangents, argnums), tb = tangent_for(1, tangents, argnums);
  if (ta.valid()) result = call(ta, primals[1]);
  if (tb.valid()) {
    array t = call(primals[0], tb);
    result = result.valid() ? add(result, t) : t;
  }
  // Float masks scale their blocks: the product is linear in each mask too.
  for (size_t k = 2; k < primals.size(); ++k) {
    array tm = tangent_for(int(k), tangents, argnums);
    if (!tm.valid() || primals[k].dtype() == Dtype::bool_) continue;
    std::vector<array> p = primals;
    p[k] = tm;
    std::optional<array> mo, ml, mr;
    size_t i = 2;
    if (has_out_) mo = p[i++];
    if (has_operands_) ml = p[i++], mr = p[i++];
    array t = block_masked_mm(p[0], p[1], block_size_, mo, ml, mr);
    result = result.valid() ? add(result, t) : t;
  }
  return result.valid() ? result : zeros_like(out);
}

std::vector<array> BlockMaskedMM::vjp(const std::vector<array>& primals, const array& cotangent,
                                      const std::vector<int>& argnums, const array&) {
  const int bs = block_size_;
  const array &a = primals[0], &b = primals[1];
  const int io = has_out_ ? 2 : -1;
  const int il = has_operands_ ? 2 + (has_out_ ? 1 : 0) : -1, ir = il >= 0 ? il + 1 : -1;
  array mo = io >= 0 ? primals[io] : array(), ml = il >= 0 ? primals[il] : array();
  array mr = ir >= 0 ? primals[ir] : array();
  array c = mo.valid() ? apply_mask(cotangent, mo, bs) : cotangent;
  array am = ml.valid() ? apply_mask(a, ml, bs) : a;
  array bm = mr.valid() ? apply_mask(b, mr, bs) : b;
  auto d_am = [&] { return matmul(c, swapaxes(bm, -1, -2)); };  // cotangent of a * A
  auto d_bm = [&] { return matmul(swapaxes(am, -1, -2), c); };  // cotangent of b * B
  std::vector<array> grads;
  for (int arg : argnums) {
    const array& in = primals[arg];
    if (arg == 0) {
      grads.push_back(ml.valid() ? apply_mask(d_am(), ml, bs) : d_am());
    } else if (arg == 1) {
      grads.push_back(mr.valid() ? apply_mask(d_bm(), mr, bs) : d_bm());
    } else if (in.dtype() == Dtype::bool_) {
      grads.push_back(zeros_like(in));
    } else if (arg == io) {
      grads.push_back(astype(block_sums(multiply(cotangent, matmul(am, bm)), bs), in.dtype()));
    } else if (arg == il) {
      grads.push_back(astype(block_sums(multiply(d_am(), a), bs), in.dtype()));
    } else {
      grads.push_back(astype(block_sums(multiply(d_bm(), b), bs), in.dtype()));
    }
  }
  return grads;
}

std::pair<array, int> BlockMaskedMM::vmap(const std::vector<array>& inputs,
                                          const std::vector<BatchAxis>& axes) {
  int64_t n = 1;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (axes[i]) n = inputs[i].shape(*axes[i]);
  }
  std::vector<array> in;
  for (size_t i = 0; i < inputs.size(); ++i) in.push_back(detail::batch_front(inputs[i], axes[i], n, true));
  std::optional<array> mo, ml, mr;
  size_t i = 2;
  if (has_out_) mo = in[i++];
  if (has_operands_) ml = in[i++], mr = in[i++];
  return {block_masked_mm(in[0], in[1], block_size_, mo, ml, mr), 0};
}

bool BlockMaskedMM::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const BlockMaskedMM*>(&other);
  return o && o->block_size_ == block_size_ && o->has_out_ == has_out_ &&
         o->has_operands_ == has_operands_;
}

// out[s] = (a * m_s) @ b with m_s the indicator of segment s along K: linear in a and b;
// da = sum_s (ct[s] @ b.T) * m_s, db = sum_s m_s.T * (a.T @ ct[s]).

namespace {

// The indicators (S, K) of the segments (flattened), as dtype.
array segment_masks(const array& segments, int64_t K, Dtype dtype) {
  array seg = reshape(astype(segments, Dtype::int64), {-1, 2});
  array k = reshape(arange(0, double(K), 1, Dtype::int64), {1, K});
  using I = std::vector<int64_t>;
  array lo = slice(seg, I{0, 0}, I{seg.shape(0), 1}, I{1, 1});
  array hi = slice(seg, I{0, 1}, I{seg.shape(0), 2}, I{1, 1});
  return astype(logical_and(greater_equal(k, lo), less(k, hi)), dtype);
}

}  // namespace

array SegmentedMM::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                       const std::vector<int>& argnums, const array& out) {
  array ta = tangent_for(0, tangents, argnums), tb = tangent_for(1, tangents, argnums);
  array result;
  if (ta.valid()) result = segmented_mm(ta, primals[1], primals[2]);
  if (tb.valid()) {
    array t = segmented_mm(primals[0], tb, primals[2]);
    result = result.valid() ? add(result, t) : t;
  }
  return result.valid() ? result : zeros_like(out);
}

std::vector<array> SegmentedMM::vjp(const std::vector<array>& primals, const array& cotangent,
                                    const std::vector<int>& argnums, const array&) {
  const array &a = primals[0], &b = primals[1];
  const int64_t M = a.shape(0), K = a.shape(1), N = b.shape(1);
  array m = segment_masks(primals[2], K, a.dtype());  // (S, K)
  const int64_t S = m.shape(0);
  array c = reshape(cotangent, {S, M, N});
  std::vector<array> grads;
  for (int arg : argnums) {
    if (arg == 0) {
      array g = matmul(c, swapaxes(b, 0, 1));  // (S, M, K)
      grads.push_back(sum(multiply(g, expand_dims(m, {1})), std::vector<int>{0}));
    } else if (arg == 1) {
      array g = matmul(swapaxes(a, 0, 1), c);  // (S, K, N)
      grads.push_back(sum(multiply(g, expand_dims(m, {2})), std::vector<int>{0}));
    } else {
      grads.push_back(zeros_like(primals[arg]));
    }
  }
  return grads;
}

// Only the segments batched: they already carry any leading dims. Otherwise, each output
// is (a * m_s) @ b written with masks and a batched matmul.
std::pair<array, int> SegmentedMM::vmap(const std::vector<array>& inputs,
                                        const std::vector<BatchAxis>& axes) {
  if (!axes[0] && !axes[1]) {
    return {segmented_mm(inputs[0], inputs[1], detail::batch_front(inputs[2], axes[2], 1, false)),
            0};
  }
  int64_t n = 1;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (axes[i]) n = inputs[i].shape(*axes[i]);
  }
  array a = detail::batch_front(inputs[0], axes[0], n, true);  // (B, M, K)
  array b = detail::batch_front(inputs[1], axes[1], n, true);  // (B, K, N)
  array seg = detail::batch_front(inputs[2], axes[2], n, true);  // (B, ..., 2)
  const int64_t K = a.shape(2);
  Shape lead(seg.shape().begin() + 1, seg.shape().end() - 1);
  int64_t S = 1;
  for (auto d : lead) S *= d;
  array m = reshape(segment_masks(seg, K, a.dtype()), {n, S, 1, K});  // (B, S, 1, K)
  array out = matmul(multiply(expand_dims(a, {1}), m), expand_dims(b, {1}));  // (B, S, M, N)
  Shape s{n};
  s.insert(s.end(), lead.begin(), lead.end());
  s.push_back(a.shape(1));
  s.push_back(b.shape(2));
  return {reshape(out, s), 0};
}

// ---- export: each product of this file rebuilt through its op ----
void BlockMaskedMM::serialize(ExportFields& f) const {
  f.add_int(block_size_);
  f.add_bool(has_out_);
  f.add_bool(has_operands_);
}

namespace {

using Loaded = std::vector<array>;
using In = std::vector<array>;
using Specs = std::vector<ExportSpec>;

const detail::RegisterLoaders kLoaders{
    {"Matmul", [](ExportFields::Reader&, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 2);
       return {matmul(in[0], in[1])};
     }},
    {"GatherMM", [](ExportFields::Reader&, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 4);
       return {gather_mm(in[0], in[1], in[2], in[3], false)};
     }},
    // Inputs: a, b [, mask_out] [, mask_lhs, mask_rhs].
    {"BlockMaskedMM", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       const int block_size = int(f.integer("block_size", INT_MIN, INT_MAX));
       const bool has_out = f.boolean("has_out_mask");
       const bool has_operands = f.boolean("has_operand_masks");
       detail::expect_inputs(in, 2 + size_t(has_out) + (has_operands ? 2 : 0));
       std::optional<array> mo, ml, mr;
       size_t i = 2;
       if (has_out) mo = in[i++];
       if (has_operands) ml = in[i++], mr = in[i++];
       return {block_masked_mm(in[0], in[1], block_size, mo, ml, mr)};
     }},
    {"SegmentedMM", [](ExportFields::Reader&, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 3);
       return {segmented_mm(in[0], in[1], in[2])};
     }},
};

}  // namespace

}  // namespace ember
