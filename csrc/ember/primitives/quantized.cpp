// Transform rules of the quantized family, written with ops so they nest. The packed
// weights never get a cotangent (as in MLX); scales and biases of the affine format do,
// and x always does. qqmm's gradients pass straight through the format's round trip.
#include "ember/primitives/quantized.h"

#include <climits>
#include <cmath>

#include "ember/export/fields.h"
#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/primitives/linalg.h"

namespace ember {

using detail::batch_gather;
using detail::batch_front;
using detail::flat_matrices;
using detail::matrices;
using detail::scalar;
using detail::scatter_matrices;
using detail::wrap_index;

namespace {

std::string mode_of(const QuantSpec& s) { return quant_mode_name(s.mode); }

array add_or(const array& acc, const array& term) { return acc.valid() ? add(acc, term) : term; }

// The tangent given for input `arg`, or an invalid array.
array tangent_of(int arg, const std::vector<array>& tangents, const std::vector<int>& argnums) {
  for (size_t i = 0; i < argnums.size(); ++i) {
    if (argnums[i] == arg) return tangents[i];
  }
  return array();
}

// x (..., K) -> sum over each group of g consecutive elements: (..., K / g).
array group_sum(const array& x, int g) {
  Shape s = x.shape();
  s.back() = x.shape(-1) / g;
  s.push_back(g);
  return sum(reshape(x, s), std::vector<int>{-1});
}

// The integers q of an affine packed matrix, as dtype (scale 1, bias 0).
array affine_levels(const array& w, const array& scales, const QuantSpec& s, Dtype dtype) {
  return dequantize(w, ones(scales.shape(), dtype), zeros(scales.shape(), dtype), s.group_size,
                    s.bits, "affine", std::nullopt, dtype);
}

int64_t batch_size(const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (axes[i]) return inputs[i].shape(*axes[i]);
  }
  return 1;
}

bool any_batched(const std::vector<BatchAxis>& axes, size_t begin, size_t end) {
  for (size_t i = begin; i < end && i < axes.size(); ++i) {
    if (axes[i]) return true;
  }
  return false;
}

// vmap by a loop: f applied to each batch element, the results stacked on axis 0 (for
// arguments the kernels take one of at a time, such as a global scale).
template <typename F>
std::pair<array, int> vmap_loop(const std::vector<array>& inputs,
                                const std::vector<BatchAxis>& axes, F&& f) {
  int64_t n = batch_size(inputs, axes);
  std::vector<array> outs;
  for (int64_t b = 0; b < n; ++b) {
    std::vector<array> one;
    for (size_t i = 0; i < inputs.size(); ++i) {
      one.push_back(axes[i] ? take(inputs[i], scalar(double(b), Dtype::int32), *axes[i])
                            : inputs[i]);
    }
    outs.push_back(f(one));
  }
  return {stack(outs, 0), 0};
}

}  // namespace

// ---- Quantize ---------------------------------------------------------------------------
// Only the affine scales and biases depend smoothly on w, through the group's extreme
// values: with edge the min or the max (whichever is larger in magnitude) and
// q0 = round(edge / s0), scale = edge / q0 and bias = edge (q0 != 0), or scale =
// +-(max - min) / (2^bits - 1) and bias = 0 (q0 == 0, unless clamped at 1e-7); 1 bit:
// scale = max - min, bias = min. An extreme shared by several elements is split evenly.

namespace {

struct ExtremeCoefficients {
  array onehot_max, onehot_min;  // (..., G, g): where the group's max / min are
  array cs_max, cs_min, cb_max, cb_min;  // (..., G, 1): d scale, d bias per d max, d min
};

ExtremeCoefficients extreme_coefficients(const array& w, const QuantSpec& s) {
  Dtype t = w.dtype();
  Shape gs = w.shape();
  gs.back() = w.shape(-1) / s.group_size;
  gs.push_back(s.group_size);
  array g = stop_gradient(reshape(w, gs));
  array hi = max(g, std::vector<int>{-1}, true), lo = min(g, std::vector<int>{-1}, true);
  auto onehot = [&](const array& e) {
    array m = astype(equal(g, e), t);
    return divide(m, sum(m, std::vector<int>{-1}, true));
  };
  ExtremeCoefficients c;
  c.onehot_max = onehot(hi);
  c.onehot_min = onehot(lo);
  const double n = double((1 << s.bits) - 1);
  array range = divide(subtract(hi, lo), scalar(n, t));
  array active = astype(greater(range, scalar(1e-7, t)), t);
  array zero = zeros_like(hi);
  if (s.bits == 1) {
    c.cs_max = active;
    c.cs_min = negative(active);
    c.cb_max = zero;
    c.cb_min = ones_like(hi);
    return c;
  }
  array mask = greater(abs(lo), abs(hi));
  array s0 = maximum(range, scalar(1e-7, t));
  s0 = where(mask, s0, negative(s0));
  array edge = where(mask, lo, hi);
  array q0 = round(divide(edge, s0));
  array nz = not_equal(q0, zero);
  array inv = divide(ones_like(q0), where(nz, q0, ones_like(q0)));
  array sign = where(mask, ones_like(hi), negative(ones_like(hi)));
  array flat = divide(multiply(sign, active), scalar(n, t));
  c.cs_max = where(nz, where(mask, zero, inv), flat);
  c.cs_min = where(nz, where(mask, inv, zero), negative(flat));
  c.cb_max = astype(logical_and(nz, logical_not(mask)), t);
  c.cb_min = astype(logical_and(nz, mask), t);
  return c;
}

}  // namespace

std::vector<array> Quantize::jvp_multi(const std::vector<array>& primals,
                                       const std::vector<array>& tangents,
                                       const std::vector<int>& argnums,
                                       const std::vector<array>& outputs) {
  std::vector<array> out(outputs.size());
  array t = tangent_of(0, tangents, argnums);
  if (!spec_.affine() || !t.valid()) return out;  // packed words and uint8 scales: none
  auto c = extreme_coefficients(primals[0], spec_);
  Shape gs = c.onehot_max.shape();
  array tg = reshape(astype(t, primals[0].dtype()), gs);
  array dmax = sum(multiply(tg, c.onehot_max), std::vector<int>{-1}, true);
  array dmin = sum(multiply(tg, c.onehot_min), std::vector<int>{-1}, true);
  auto combine = [&](const array& a, const array& b, const array& like) {
    array r = add(multiply(a, dmax), multiply(b, dmin));
    return astype(reshape(r, like.shape()), like.dtype());
  };
  out[1] = combine(c.cs_max, c.cs_min, outputs[1]);
  out[2] = combine(c.cb_max, c.cb_min, outputs[2]);
  return out;
}

std::vector<array> Quantize::vjp_multi(const std::vector<array>& primals,
                                       const std::vector<array>& cotangents,
                                       const std::vector<int>& argnums,
                                       const std::vector<array>& outputs) {
  std::vector<array> grads;
  for (int arg : argnums) {
    const array& in = primals[arg];
    bool none = arg != 0 || !spec_.affine() ||
                (!cotangents[1].valid() && !cotangents[2].valid());
    if (none) {
      grads.push_back(zeros_like(in));
      continue;
    }
    auto c = extreme_coefficients(in, spec_);
    Dtype t = in.dtype();
    auto ct = [&](int k) {
      return cotangents[k].valid() ? expand_dims(astype(cotangents[k], t), {-1})
                                   : zeros(c.cs_max.shape(), t);
    };
    array cs = ct(1), cb = ct(2);
    array at_max = add(multiply(c.cs_max, cs), multiply(c.cb_max, cb));
    array at_min = add(multiply(c.cs_min, cs), multiply(c.cb_min, cb));
    array g = add(multiply(c.onehot_max, at_max), multiply(c.onehot_min, at_min));
    grads.push_back(reshape(g, in.shape()));
  }
  return grads;
}

std::pair<std::vector<array>, std::vector<int>> Quantize::vmap_multi(
    const std::vector<array>& inputs, const std::vector<BatchAxis>& axes) {
  std::string mode = mode_of(spec_);
  std::optional<array> gs;
  if (inputs.size() > 1) gs = inputs[1];
  if (inputs.size() > 1 && axes[1]) {
    // One global scale per batch element: one quantize each.
    int64_t n = batch_size(inputs, axes);
    std::vector<std::vector<array>> parts(3);
    for (int64_t b = 0; b < n; ++b) {
      array i = scalar(double(b), Dtype::int32);
      array w = axes[0] ? take(inputs[0], i, *axes[0]) : inputs[0];
      auto r = quantize(w, spec_.group_size, spec_.bits, mode, take(inputs[1], i, *axes[1]));
      for (size_t k = 0; k < r.size(); ++k) parts[k].push_back(r[k]);
    }
    std::vector<array> outs;
    for (auto& p : parts) {
      if (!p.empty()) outs.push_back(stack(p, 0));
    }
    return {outs, std::vector<int>(outs.size(), 0)};
  }
  // The batch axis may be the last one: move it to the front, where quantize keeps it.
  array w = batch_front(inputs[0], axes[0], 1, false);
  auto outs = quantize(w, spec_.group_size, spec_.bits, mode, gs);
  return {outs, std::vector<int>(outs.size(), 0)};
}

bool Quantize::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const Quantize*>(&other);
  return o && o->spec_ == spec_;
}

// ---- Dequantize -------------------------------------------------------------------------
// affine: out = q * scale + bias, linear in (scale, bias); nvfp4 with a global scale g:
// out is proportional to g. The packed words and uint8 scales get nothing.

array Dequantize::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                      const std::vector<int>& argnums, const array& out) {
  if (spec_.affine()) {
    array ts = tangent_of(1, tangents, argnums), tb = tangent_of(2, tangents, argnums);
    if (!ts.valid() && !tb.valid()) return zeros_like(out);
    const array& s = primals[1];
    return dequantize(primals[0], ts.valid() ? ts : zeros_like(s), tb.valid() ? tb : zeros_like(s),
                      spec_.group_size, spec_.bits, "affine", std::nullopt, out.dtype());
  }
  array tg = has_global_scale_ ? tangent_of(2, tangents, argnums) : array();
  if (!tg.valid()) return zeros_like(out);
  return multiply(out, astype(divide(tg, primals[2]), out.dtype()));
}

std::vector<array> Dequantize::vjp(const std::vector<array>& primals, const array& cotangent,
                                   const std::vector<int>& argnums, const array& out) {
  std::vector<array> grads;
  for (int arg : argnums) {
    const array& in = primals[arg];
    if (spec_.affine() && (arg == 1 || arg == 2)) {
      array c = astype(cotangent, in.dtype());
      if (arg == 2) {
        grads.push_back(group_sum(c, spec_.group_size));
      } else {
        array q = affine_levels(primals[0], primals[1], spec_, in.dtype());
        grads.push_back(group_sum(multiply(c, q), spec_.group_size));
      }
    } else if (!spec_.affine() && has_global_scale_ && arg == 2) {
      array c = astype(cotangent, Dtype::float32);
      grads.push_back(
          astype(divide(sum(multiply(c, astype(out, Dtype::float32))), in), in.dtype()));
    } else {
      grads.push_back(zeros_like(in));
    }
  }
  return grads;
}

std::pair<array, int> Dequantize::vmap(const std::vector<array>& inputs,
                                       const std::vector<BatchAxis>& axes) {
  std::string mode = mode_of(spec_);
  auto call = [&](const std::vector<array>& in, Dtype dtype) {
    if (spec_.affine()) {
      return dequantize(in[0], in[1], in[2], spec_.group_size, spec_.bits, mode);
    }
    std::optional<array> g;
    if (has_global_scale_) g = in[2];
    return dequantize(in[0], in[1], std::nullopt, spec_.group_size, spec_.bits, mode, g, dtype);
  };
  const size_t packed = spec_.affine() ? 3 : 2;
  int64_t n = batch_size(inputs, axes);
  const Dtype out_dtype = out_dtype_;
  if (has_global_scale_ && axes[2]) {
    return vmap_loop(inputs, axes, [&](const std::vector<array>& in) { return call(in, out_dtype); });
  }
  std::vector<array> in;
  for (size_t i = 0; i < inputs.size(); ++i) {
    in.push_back(i < packed ? batch_front(inputs[i], axes[i], n, true) : inputs[i]);
  }
  return {call(in, out_dtype), 0};
}

bool Dequantize::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const Dequantize*>(&other);
  return o && o->spec_ == spec_ && o->has_global_scale_ == has_global_scale_ &&
         o->out_dtype_ == out_dtype_;
}

// ---- QuantizedMatmul --------------------------------------------------------------------
// y = x @ W.T (or x @ W) with W = q * scale + bias: dy = dx @ W.T + x @ dW.T, where W is
// linear in (scale, bias); dx = dy @ W (or dy @ W.T); d scale = group sums of (dy.T @ x) * q
// (of x.T @ dy without transpose), d bias = group sums of the same product without q.

namespace {

array qmm_of(const QuantSpec& s, bool transpose, const array& x, const std::vector<array>& in,
             const array& scales, const array& biases) {
  return quantized_matmul(x, in[1], scales, s.affine() ? std::optional<array>(biases) : std::nullopt,
                          transpose, s.group_size, s.bits, mode_of(s));
}

// (dy.T @ x) or (x.T @ dy): shaped like the stored W (..., rows, cols).
array weight_product(const array& x, const array& ct, bool transpose) {
  return transpose ? matmul(swapaxes(ct, -1, -2), x) : matmul(swapaxes(x, -1, -2), ct);
}

}  // namespace

array QuantizedMatmul::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                           const std::vector<int>& argnums, const array& out) {
  array result;
  array tx = tangent_of(0, tangents, argnums);
  if (tx.valid()) {
    result = qmm_of(spec_, transpose_, tx, primals, primals[2],
                    spec_.affine() ? primals[3] : array());
  }
  if (spec_.affine()) {
    array ts = tangent_of(2, tangents, argnums), tb = tangent_of(3, tangents, argnums);
    if (ts.valid() || tb.valid()) {
      const array& s = primals[2];
      result = add_or(result, qmm_of(spec_, transpose_, primals[0], primals,
                                     ts.valid() ? ts : zeros_like(s),
                                     tb.valid() ? tb : zeros_like(s)));
    }
  }
  return result.valid() ? result : zeros_like(out);
}

std::vector<array> QuantizedMatmul::vjp(const std::vector<array>& primals, const array& cotangent,
                                        const std::vector<int>& argnums, const array&) {
  std::vector<array> grads;
  array prod;  // dy.T @ x (or x.T @ dy), shared by the scales and biases
  for (int arg : argnums) {
    const array& in = primals[arg];
    if (arg == 0) {
      grads.push_back(qmm_of(spec_, !transpose_, cotangent, primals, primals[2],
                             spec_.affine() ? primals[3] : array()));
    } else if (spec_.affine() && (arg == 2 || arg == 3)) {
      if (!prod.valid()) prod = astype(weight_product(primals[0], cotangent, transpose_), in.dtype());
      array p = arg == 3 ? prod
                         : multiply(prod, affine_levels(primals[1], primals[2], spec_, in.dtype()));
      grads.push_back(group_sum(p, spec_.group_size));
    } else {
      grads.push_back(zeros_like(in));
    }
  }
  return grads;
}

std::pair<array, int> QuantizedMatmul::vmap(const std::vector<array>& inputs,
                                            const std::vector<BatchAxis>& axes) {
  int64_t n = batch_size(inputs, axes);
  // x keeps its own batch (the op broadcasts it against w's); the packed triple must agree.
  bool packed_batched = any_batched(axes, 1, inputs.size());
  std::vector<array> in{batch_front(inputs[0], axes[0], n, false)};
  for (size_t i = 1; i < inputs.size(); ++i) in.push_back(batch_front(inputs[i], axes[i], n, packed_batched));
  if (!axes[0] && packed_batched) {
    // x lacks the batch dim: give it a size-1 one so the batch dims line up.
    in[0] = expand_dims(in[0], {0});
  }
  return {qmm_of(spec_, transpose_, in[0], in, in[2], spec_.affine() ? in[3] : array()), 0};
}

bool QuantizedMatmul::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const QuantizedMatmul*>(&other);
  return o && o->spec_ == spec_ && o->transpose_ == transpose_;
}

// ---- GatherQMM --------------------------------------------------------------------------
// Position i multiplies x[lhs[i]] by W[rhs[i]]: the product rules of QuantizedMatmul per
// position, with each input's cotangent summed (scatter-added) over the positions that
// read it.

namespace {

array gqmm_of(const QuantSpec& s, bool transpose, const array& x, const array& w,
              const array& scales, const array& biases, const array& lhs, const array& rhs) {
  return gather_qmm(x, w, scales, s.affine() ? std::optional<array>(biases) : std::nullopt, lhs,
                    rhs, transpose, s.group_size, s.bits, mode_of(s));
}

}  // namespace

array GatherQMM::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                     const std::vector<int>& argnums, const array& out) {
  const size_t n = primals.size();
  const array &lhs = primals[n - 2], &rhs = primals[n - 1];
  const array biases = spec_.affine() ? primals[3] : array();
  array result;
  array tx = tangent_of(0, tangents, argnums);
  if (tx.valid()) {
    result = gqmm_of(spec_, transpose_, tx, primals[1], primals[2], biases, lhs, rhs);
  }
  if (spec_.affine()) {
    array ts = tangent_of(2, tangents, argnums), tb = tangent_of(3, tangents, argnums);
    if (ts.valid() || tb.valid()) {
      const array& s = primals[2];
      result = add_or(result, gqmm_of(spec_, transpose_, primals[0], primals[1],
                                      ts.valid() ? ts : zeros_like(s),
                                      tb.valid() ? tb : zeros_like(s), lhs, rhs));
    }
  }
  return result.valid() ? result : zeros_like(out);
}

std::vector<array> GatherQMM::vjp(const std::vector<array>& primals, const array& cotangent,
                                  const std::vector<int>& argnums, const array&) {
  const size_t n = primals.size();
  const array& x = primals[0];
  const array& w = primals[1];
  array l = flatten(wrap_index(primals[n - 2], matrices(x)));
  array r = flatten(wrap_index(primals[n - 1], matrices(w)));
  const int64_t P = l.size();
  array ct = reshape(cotangent, {P, cotangent.shape(-2), cotangent.shape(-1)});
  const array biases = spec_.affine() ? primals[3] : array();
  std::vector<array> grads;
  array prod;
  for (int arg : argnums) {
    const array& in = primals[arg];
    if (arg == 0) {
      // Row block i of dx[lhs[i]]: ct[i] @ W[rhs[i]] (the other orientation).
      array pos = arange(0, double(P), 1, Dtype::int64);
      array g = gqmm_of(spec_, !transpose_, ct, w, primals[2], biases, pos, r);
      grads.push_back(scatter_matrices(x, l, g));
    } else if (spec_.affine() && (arg == 2 || arg == 3)) {
      if (!prod.valid()) {
        array xg = take(flat_matrices(x), l, 0);
        prod = astype(weight_product(xg, ct, transpose_), in.dtype());
      }
      array p = prod;
      if (arg == 2) {
        array q = affine_levels(w, primals[2], spec_, in.dtype());
        p = multiply(p, take(flat_matrices(q), r, 0));
      }
      grads.push_back(scatter_matrices(in, r, group_sum(p, spec_.group_size)));
    } else {
      grads.push_back(zeros_like(in));
    }
  }
  return grads;
}

std::pair<array, int> GatherQMM::vmap(const std::vector<array>& inputs,
                                      const std::vector<BatchAxis>& axes) {
  auto g = batch_gather(inputs, axes, 1, inputs.size() - 2);
  const array biases = spec_.affine() ? g.inputs[3] : array();
  return {gqmm_of(spec_, transpose_, g.inputs[0], g.inputs[1], g.inputs[2], biases, g.lhs, g.rhs),
          0};
}

bool GatherQMM::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const GatherQMM*>(&other);
  return o && o->spec_ == spec_ && o->transpose_ == transpose_;
}

// ---- QQMatmul / GatherQQMM ----------------------------------------------------------------
// y = Q(x) @ Q(w).T; the round trip Q is taken as the identity for gradients (the
// straight-through estimator): dx = dy @ Q(w), dw = dy.T @ Q(x) (a float w only).

namespace {

struct QQParts {
  array x, w, scales, gsx, gsw, lhs, rhs;
};

QQParts qq_parts(const std::vector<array>& in, bool w_packed, bool has_gsx, bool has_gsw,
                 bool gather) {
  QQParts p;
  size_t i = 0;
  p.x = in[i++];
  p.w = in[i++];
  if (w_packed) p.scales = in[i++];
  if (has_gsx) p.gsx = in[i++];
  if (has_gsw) p.gsw = in[i++];
  if (gather) {
    p.lhs = in[i++];
    p.rhs = in[i++];
  }
  return p;
}

std::optional<array> opt(const array& a) {
  return a.valid() ? std::optional<array>(a) : std::nullopt;
}

// The round trip of a float matrix through the format (along its last axis).
array round_trip(const array& a, const QuantSpec& s, const array& g) {
  auto q = quantize(a, s.group_size, s.bits, mode_of(s), opt(g));
  return dequantize(q[0], q[1], std::nullopt, s.group_size, s.bits, mode_of(s), opt(g), a.dtype());
}

}  // namespace

array QQMatmul::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                    const std::vector<int>& argnums, const array& out) {
  QQParts p = qq_parts(primals, w_packed_, has_gsx_, has_gsw_, gather_);
  array tx = tangent_of(0, tangents, argnums);
  array tw = w_packed_ ? array() : tangent_of(1, tangents, argnums);
  auto mm = [&](const array& a, const array& b) {
    array bt = swapaxes(b, -1, -2);
    return gather_ ? gather_mm(a, bt, p.lhs, p.rhs) : matmul(a, bt);
  };
  array result;
  if (tx.valid()) {
    array qw = w_packed_ ? dequantize(p.w, p.scales, std::nullopt, spec_.group_size, spec_.bits,
                                      mode_of(spec_), opt(p.gsw), out.dtype())
                         : round_trip(p.w, spec_, p.gsw);
    result = mm(tx, astype(qw, out.dtype()));
  }
  if (tw.valid()) result = add_or(result, mm(round_trip(p.x, spec_, p.gsx), astype(tw, out.dtype())));
  return result.valid() ? result : zeros_like(out);
}

std::vector<array> QQMatmul::vjp(const std::vector<array>& primals, const array& cotangent,
                                 const std::vector<int>& argnums, const array& out) {
  QQParts p = qq_parts(primals, w_packed_, has_gsx_, has_gsw_, gather_);
  std::vector<array> grads;
  for (int arg : argnums) {
    const array& in = primals[arg];
    if (arg == 0 || (arg == 1 && !w_packed_)) {
      array a = arg == 0 ? p.x : round_trip(p.x, spec_, p.gsx);
      array b = arg == 0 && w_packed_
                    ? dequantize(p.w, p.scales, std::nullopt, spec_.group_size, spec_.bits,
                                 mode_of(spec_), opt(p.gsw), out.dtype())
                    : (arg == 0 ? round_trip(p.w, spec_, p.gsw) : p.w);
      b = astype(b, out.dtype());
      array bt = swapaxes(b, -1, -2);
      auto g = gather_ ? detail::gather_mm_grads(a, bt, p.lhs, p.rhs, cotangent, arg == 0, arg == 1)
                       : std::pair<array, array>{matmul(cotangent, b),
                                                 matmul(swapaxes(cotangent, -1, -2), a)};
      grads.push_back(astype(arg == 0 ? g.first : (gather_ ? swapaxes(g.second, -1, -2) : g.second),
                             in.dtype()));
    } else {
      grads.push_back(zeros_like(in));
    }
  }
  return grads;
}

std::pair<array, int> QQMatmul::vmap(const std::vector<array>& inputs,
                                     const std::vector<BatchAxis>& axes) {
  auto call = [&](const std::vector<array>& in) {
    QQParts p = qq_parts(in, w_packed_, has_gsx_, has_gsw_, gather_);
    std::string mode = mode_of(spec_);
    if (gather_) {
      return gather_qqmm(p.x, p.w, opt(p.scales), p.lhs, p.rhs, spec_.group_size, spec_.bits,
                         mode, opt(p.gsx), opt(p.gsw));
    }
    return qqmm(p.x, p.w, opt(p.scales), spec_.group_size, spec_.bits, mode, opt(p.gsx),
                opt(p.gsw));
  };
  // Global scales are one per call: a batch of them runs one call each.
  const size_t first_gs = 2 + (w_packed_ ? 1 : 0);
  const size_t n_gs = (has_gsx_ ? 1 : 0) + (has_gsw_ ? 1 : 0);
  if (any_batched(axes, first_gs, first_gs + n_gs)) return vmap_loop(inputs, axes, call);
  if (gather_) {
    size_t rhs_end = 2 + (w_packed_ ? 1 : 0);
    // inputs: x | w [scales] | gsx gsw | lhs rhs: gather's folding wants the global scales
    // after the rhs side, which is where they are.
    auto g = batch_gather(inputs, axes, 1, rhs_end);
    std::vector<array> in = g.inputs;
    in.push_back(g.lhs);
    in.push_back(g.rhs);
    return {call(in), 0};
  }
  int64_t n = batch_size(inputs, axes);
  bool w_batched = any_batched(axes, 1, first_gs);
  std::vector<array> in{batch_front(inputs[0], axes[0], n, false)};
  for (size_t i = 1; i < inputs.size(); ++i) {
    in.push_back(i < first_gs ? batch_front(inputs[i], axes[i], n, w_batched) : inputs[i]);
  }
  if (!axes[0] && w_batched) in[0] = expand_dims(in[0], {0});
  if (axes[0] && !w_batched) in[1] = expand_dims(in[1], {0});
  if (axes[0] && !w_batched && w_packed_) in[2] = expand_dims(in[2], {0});
  return {call(in), 0};
}

bool QQMatmul::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const QQMatmul*>(&other);
  return o && o->spec_ == spec_ && o->w_packed_ == w_packed_ && o->has_gsx_ == has_gsx_ &&
         o->has_gsw_ == has_gsw_ && o->gather_ == gather_;
}

// ---- ToFP8 / FromFP8: encodings, not differentiable (zero tangents and cotangents) ----

array ToFP8::jvp(const std::vector<array>&, const std::vector<array>&, const std::vector<int>&,
                 const array& out) {
  return zeros_like(out);
}
std::vector<array> ToFP8::vjp(const std::vector<array>& primals, const array&,
                              const std::vector<int>&, const array&) {
  return {zeros_like(primals[0])};
}
std::pair<array, int> ToFP8::vmap(const std::vector<array>& inputs,
                                  const std::vector<BatchAxis>& axes) {
  return {to_fp8(inputs[0]), *axes[0]};
}

array FromFP8::jvp(const std::vector<array>&, const std::vector<array>&, const std::vector<int>&,
                   const array& out) {
  return zeros_like(out);
}
std::vector<array> FromFP8::vjp(const std::vector<array>& primals, const array&,
                                const std::vector<int>&, const array&) {
  return {zeros_like(primals[0])};
}
std::pair<array, int> FromFP8::vmap(const std::vector<array>& inputs,
                                    const std::vector<BatchAxis>& axes) {
  return {from_fp8(inputs[0], out_dtype_), *axes[0]};
}
bool FromFP8::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const FromFP8*>(&other);
  return o && o->out_dtype_ == out_dtype_;
}

// ---- export: the format and flags; each loader calls the op that makes the node, whose
// checks (quant_spec, check_packed, ...) see a file's parameters as they see a user's ----
namespace {

void add_spec(ExportFields& f, const QuantSpec& s) {
  f.add_string(mode_of(s));
  f.add_int(s.group_size);
  f.add_int(s.bits);
}

// The format as the ops take it (they check the mode and the sizes, and whether the mode
// takes biases: the loaders pass what the file has).
struct SpecArgs {
  std::string mode;
  int group_size, bits;
};

// inputs[i] if there are `with` inputs (the optional one is there), else none.
std::optional<array> optional_input(const std::vector<array>& inputs, size_t with, size_t i) {
  if (inputs.size() != with) return std::nullopt;
  return inputs[i];
}

// Between lo and hi inputs.
void expect_between(const std::vector<array>& inputs, size_t lo, size_t hi) {
  detail::expect_inputs(inputs, lo, true);
  if (inputs.size() > hi) detail::expect_inputs(inputs, hi);
}

SpecArgs read_spec(ExportFields::Reader& f) {
  SpecArgs s;
  s.mode = f.string("mode");
  s.group_size = int(f.integer("group_size", INT_MIN, INT_MAX));
  s.bits = int(f.integer("bits", INT_MIN, INT_MAX));
  return s;
}

}  // namespace

void Quantize::serialize(ExportFields& f) const { add_spec(f, spec_); }

void Dequantize::serialize(ExportFields& f) const {
  add_spec(f, spec_);
  f.add_bool(has_global_scale_);
  f.add_dtype(out_dtype_);
}

void QuantizedMatmul::serialize(ExportFields& f) const {
  add_spec(f, spec_);
  f.add_bool(transpose_);
}

void GatherQMM::serialize(ExportFields& f) const {
  add_spec(f, spec_);
  f.add_bool(transpose_);
}

void QQMatmul::serialize(ExportFields& f) const {
  add_spec(f, spec_);
  f.add_bool(w_packed_);
  f.add_bool(has_gsx_);
  f.add_bool(has_gsw_);
}

void FromFP8::serialize(ExportFields& f) const { f.add_dtype(out_dtype_); }

namespace {

using Loaded = std::vector<array>;
using In = std::vector<array>;
using Specs = std::vector<ExportSpec>;

Loaded load_quantize(ExportFields::Reader& f, const In& in, const Specs&) {
  SpecArgs s = read_spec(f);
  expect_between(in, 1, 2);
  return quantize(in[0], s.group_size, s.bits, s.mode, optional_input(in, 2, 1));
}

// Inputs: w, scales [, biases (affine)] [, global_scale].
Loaded load_dequantize(ExportFields::Reader& f, const In& in, const Specs&) {
  SpecArgs s = read_spec(f);
  const bool has_gs = f.boolean("has_global_scale");
  const Dtype dtype = f.dtype("dtype");
  expect_between(in, 2 + size_t(has_gs), 3 + size_t(has_gs));
  return {dequantize(in[0], in[1], optional_input(in, 3 + size_t(has_gs), 2), s.group_size,
                     s.bits, s.mode, has_gs ? opt(in.back()) : std::nullopt, dtype)};
}

// Inputs: x, w, scales [, biases (affine)].
Loaded load_quantized_matmul(ExportFields::Reader& f, const In& in, const Specs&) {
  SpecArgs s = read_spec(f);
  const bool transpose = f.boolean("transpose");
  expect_between(in, 3, 4);
  return {quantized_matmul(in[0], in[1], in[2], optional_input(in, 4, 3), transpose, s.group_size,
                           s.bits, s.mode)};
}

// Inputs: x, w, scales [, biases (affine)], lhs, rhs (a global scale multiplies the node's
// output, outside it).
Loaded load_gather_qmm(ExportFields::Reader& f, const In& in, const Specs&) {
  SpecArgs s = read_spec(f);
  const bool transpose = f.boolean("transpose");
  expect_between(in, 5, 6);
  const size_t n = in.size();
  return {gather_qmm(in[0], in[1], in[2], optional_input(in, 6, 3), in[n - 2], in[n - 1],
                     transpose, s.group_size, s.bits, s.mode, std::nullopt, false)};
}

// Inputs as qq_parts reads them.
PrimitiveLoader qq_loader(bool gather) {
  return [gather](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
    SpecArgs s = read_spec(f);
    const bool w_packed = f.boolean("w_packed");
    const bool has_gsx = f.boolean("has_global_scale_x");
    const bool has_gsw = f.boolean("has_global_scale_w");
    detail::expect_inputs(in, 2 + size_t(w_packed) + size_t(has_gsx) + size_t(has_gsw) +
                                  (gather ? 2 : 0));
    QQParts p = qq_parts(in, w_packed, has_gsx, has_gsw, gather);
    if (gather) {
      return {gather_qqmm(p.x, p.w, opt(p.scales), p.lhs, p.rhs, s.group_size, s.bits, s.mode,
                          opt(p.gsx), opt(p.gsw), false)};
    }
    return {qqmm(p.x, p.w, opt(p.scales), s.group_size, s.bits, s.mode, opt(p.gsx), opt(p.gsw))};
  };
}

const detail::RegisterLoaders kLoaders{
    {"Quantize", load_quantize},
    {"Dequantize", load_dequantize},
    {"QuantizedMatmul", load_quantized_matmul},
    {"GatherQMM", load_gather_qmm},
    {"QQMatmul", qq_loader(false)},
    {"GatherQQMM", qq_loader(true)},
    {"ToFP8", [](ExportFields::Reader&, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1);
       return {to_fp8(in[0])};
     }},
    {"FromFP8", [](ExportFields::Reader& f, const In& in, const Specs&) -> Loaded {
       detail::expect_inputs(in, 1);
       return {from_fp8(in[0], f.dtype("dtype"))};
     }},
};

}  // namespace

}  // namespace ember
