// Transform rules of Convolution (jvp, vjp, vmap), written with ops. Both vjps are
// convolutions with rearranged parameters, derived below from the definition
//   out[n, o, c] = sum_{k, j} xp[n, o * s + k * kd, g * Cg + j] * w'[c, k, j]
// (one spatial axis shown; xp: the dilated, padded input; w': w, reversed when flip;
// g: the group of output channel c).
#include "ember/primitives/conv.h"

#include <ostream>

#include "ember/export/fields.h"
#include "ember/ops.h"

namespace ember {

namespace {

// Size of an axis of size s after d - 1 zeros go between neighbours.
int64_t dilated(int64_t s, int64_t d) { return s == 0 ? 0 : (s - 1) * d + 1; }

// (A, rest..., B) with A = groups * a: within each group, swap the leading block of a and the
// trailing B, giving (groups * B, rest..., a). For groups == 1 it is swapaxes(x, 0, -1), a view.
array swap_in_groups(const array& x, int64_t groups) {
  if (groups == 1) return swapaxes(x, 0, -1);
  const int nd = x.ndim();
  Shape split = x.shape();
  split[0] = x.shape(0) / groups;
  split.insert(split.begin(), groups);           // (G, a, rest..., B)
  std::vector<int> perm = {0, nd};               // (G, B, rest..., a)
  for (int i = 2; i < nd; ++i) perm.push_back(i);
  perm.push_back(1);
  array t = transpose(reshape(x, split), perm);
  Shape merged = t.shape();
  merged[1] *= merged[0];
  merged.erase(merged.begin());
  return reshape(t, merged);
}

// x (N, S..., G * Cg) as (Cg, N, S..., G), a view: the weight gradient's "input", whose batch
// is x's channels within a group and whose first spatial axis is x's batch (summed over by a
// kernel as long as that axis).
array x_for_weight_grad(const array& x, int64_t groups) {
  const int nd = x.ndim() - 2;
  Shape split = x.shape();
  split.back() /= groups;
  split.insert(split.end() - 1, groups);  // (N, S..., G, Cg)
  std::vector<int> perm = {nd + 2, 0};
  for (int i = 1; i <= nd + 1; ++i) perm.push_back(i);
  return transpose(reshape(x, split), perm);
}

// ct (N, O..., Co) as (Co, N, O..., 1), a view: the weight gradient's "kernel", one input
// channel per group.
array ct_for_weight_grad(const array& ct) {
  const int nd = ct.ndim() - 2;
  std::vector<int> perm = {nd + 1};
  for (int i = 0; i <= nd; ++i) perm.push_back(i);
  perm.push_back(nd + 2);
  // The new axis goes in first: a reshape of a transposed view would copy it.
  return transpose(expand_dims(ct, {nd + 2}), perm);
}

std::vector<int> spatial_axes(int nd) {
  std::vector<int> axes;
  for (int i = 1; i <= nd; ++i) axes.push_back(i);
  return axes;
}

}  // namespace

bool Convolution::is_equivalent(const Primitive& other) const {
  auto* o = dynamic_cast<const Convolution*>(&other);
  return o && o->params_ == params_;
}

void Convolution::print(std::ostream& os) const {
  auto list = [&](const char* name, const std::vector<int64_t>& v) {
    os << ", " << name << "=(";
    for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
    os << ")";
  };
  os << name() << "(groups=" << params_.groups;
  list("stride", params_.stride);
  list("padding_lo", params_.padding_lo);
  list("padding_hi", params_.padding_hi);
  list("kernel_dilation", params_.kernel_dilation);
  list("input_dilation", params_.input_dilation);
  os << (params_.flip ? ", flip)" : ")");
}

// Linear in each input: d conv(x, w) = conv(dx, w) + conv(x, dw).
array Convolution::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                       const std::vector<int>& argnums, const array&) {
  array result;
  for (size_t i = 0; i < argnums.size(); ++i) {
    array term = argnums[i] == 0
                     ? detail::convolution("conv_general", tangents[i], primals[1], params_)
                     : detail::convolution("conv_general", primals[0], tangents[i], params_);
    result = result.valid() ? add(result, term) : term;
  }
  return result;
}

// Input: dxp[j] = sum_{o, k: o * s + k * kd = j} ct[o] w'[k], a convolution of the
// s-dilated cotangent with w' reversed (flip toggles), in/out channels swapped per group.
// Its low padding kd * (K - 1) - lo lines position j up with x's dilated position j - lo, and
// a stride of the input dilation picks out the positions of x itself; the high padding
// makes the output exactly x's size.
// Weight: dw'[c, k, j] = sum_{n, o} xp[n, o * s + k * kd, g * Cg + j] ct[n, o, c], a
// convolution of x with the cotangent as its kernel: stride kd, kernel dilation s, output
// size K. Batch and channels trade places (x_for_weight_grad): x's channel in the group
// becomes the batch, x's batch a leading spatial axis that the cotangent spans whole (so it
// is summed over), and the G groups stay groups with one input channel each.
std::vector<array> Convolution::vjp(const std::vector<array>& primals, const array& cotangent,
                                    const std::vector<int>& argnums, const array&) {
  const array& x = primals[0];
  const array& w = primals[1];
  const ConvParams& p = params_;
  const int nd = p.ndim();
  std::vector<array> grads;
  for (int arg : argnums) {
    const array& primal = primals[arg];
    if (cotangent.size() == 0 || x.size() == 0 || w.size() == 0) {
      grads.push_back(zeros(primal.shape(), primal.dtype()));
      continue;
    }
    ConvParams q;
    q.groups = p.groups;
    if (arg == 1) {  // the axis of x's batch: a kernel as long as it, summed whole
      q.stride = q.kernel_dilation = q.input_dilation = {1};
      q.padding_lo = q.padding_hi = {0};
    }
    for (int i = 0; i < nd; ++i) {
      const int64_t S = x.shape(1 + i), K = w.shape(1 + i), O = cotangent.shape(1 + i);
      const int64_t span = (K - 1) * p.kernel_dilation[i];  // dilated kernel size - 1
      const int64_t ct_size = dilated(O, p.stride[i]);
      if (arg == 0) {
        const int64_t lo = span - p.padding_lo[i];
        q.stride.push_back(p.input_dilation[i]);
        q.kernel_dilation.push_back(p.kernel_dilation[i]);
        q.input_dilation.push_back(p.stride[i]);
        q.padding_lo.push_back(lo);
        q.padding_hi.push_back((S - 1) * p.input_dilation[i] + span + 1 - ct_size - lo);
      } else {
        q.stride.push_back(p.kernel_dilation[i]);
        q.kernel_dilation.push_back(p.stride[i]);
        q.input_dilation.push_back(p.input_dilation[i]);
        q.padding_lo.push_back(p.padding_lo[i]);
        q.padding_hi.push_back(span + ct_size - dilated(S, p.input_dilation[i]) -
                               p.padding_lo[i]);
      }
    }
    if (arg == 0) {
      q.flip = !p.flip;
      grads.push_back(
          detail::convolution("conv_general", cotangent, swap_in_groups(w, p.groups), q));
    } else {
      array dwt = detail::convolution("conv_general", x_for_weight_grad(x, p.groups),
                                      ct_for_weight_grad(cotangent), q);  // (Cg, 1, K..., Co)
      array dw = swapaxes(squeeze(dwt, {1}), 0, -1);
      grads.push_back(p.flip ? flip(dw, spatial_axes(nd)) : dw);
    }
  }
  return grads;
}

// The batch folds into an existing axis, so a batched convolution is one convolution:
// a batched input alone into N; a batched weight alone into the output channels (inside each
// group); both into the groups (batch b's channels form groups b * G ... b * G + G - 1).
std::pair<array, int> Convolution::vmap(const std::vector<array>& inputs,
                                        const std::vector<BatchAxis>& axes) {
  const ConvParams& p = params_;
  const int nd = p.ndim();
  const int64_t G = p.groups;
  array x = axes[0] ? moveaxis(inputs[0], *axes[0], 0) : inputs[0];
  array w = axes[1] ? moveaxis(inputs[1], *axes[1], 0) : inputs[1];
  const int64_t B = axes[0] ? x.shape(0) : w.shape(0);
  if (axes[0] && !axes[1]) {
    Shape folded(x.shape().begin() + 1, x.shape().end());
    folded[0] *= B;
    array y = detail::convolution("conv_general", reshape(x, folded), w, p);
    Shape out = y.shape();
    out[0] = x.shape(1);
    out.insert(out.begin(), B);
    return {reshape(y, out), 0};
  }
  if (B == 0) {
    // An empty batch: nothing to compute, but the output's shape is one item's.
    auto item = [](const array& a, bool batched) {
      return batched ? zeros(Shape(a.shape().begin() + 1, a.shape().end()), a.dtype()) : a;
    };
    array one = detail::convolution("conv_general", item(x, bool(axes[0])),
                                    item(w, bool(axes[1])), p);
    Shape out = one.shape();
    out.insert(out.begin(), 0);
    return {zeros(out, one.dtype()), 0};
  }
  const int64_t Co = w.shape(1), Og = Co / G;
  if (!axes[0]) {
    // w (B, Co, K..., Cg) -> (G, B, Og, K..., Cg) -> (G * B * Og, K..., Cg)
    Shape split = w.shape();
    split[1] = Og;
    split.insert(split.begin() + 1, G);  // (B, G, Og, K..., Cg)
    std::vector<int> perm = {1, 0};
    for (int i = 2; i < int(split.size()); ++i) perm.push_back(i);
    Shape merged(w.shape().begin() + 1, w.shape().end());
    merged[0] = G * B * Og;
    array wb = reshape(transpose(reshape(w, split), perm), merged);
    array y = detail::convolution("conv_general", x, wb, p);
    // (N, O..., G, B, Og) -> (N, O..., B, G, Og) -> (N, O..., B, Co)
    Shape ys(y.shape().begin(), y.shape().end() - 1);
    ys.insert(ys.end(), {G, B, Og});
    std::vector<int> yperm;
    for (int i = 0; i <= nd; ++i) yperm.push_back(i);
    yperm.insert(yperm.end(), {nd + 2, nd + 1, nd + 3});
    Shape out(y.shape().begin(), y.shape().end() - 1);
    out.insert(out.end(), {B, Co});
    return {reshape(transpose(reshape(y, ys), yperm), out), nd + 1};
  }
  // Both: x (B, N, S..., Ci) -> (N, S..., B * Ci); w (B, Co, ...) -> (B * Co, ...).
  array xb = moveaxis(x, 0, -2);
  Shape xs(xb.shape().begin(), xb.shape().end() - 1);
  xs.back() *= xb.shape(-1);
  Shape ws(w.shape().begin() + 1, w.shape().end());
  ws[0] *= B;
  ConvParams q = p;
  q.groups = B * G;
  array y = detail::convolution("conv_general", reshape(xb, xs), reshape(w, ws), q);
  Shape out(y.shape().begin(), y.shape().end() - 1);
  out.insert(out.end(), {B, Co});
  return {reshape(y, out), nd + 1};
}

// ---- export: the parameters, rebuilt through detail::convolution (which checks them) ----
void Convolution::serialize(ExportFields& f) const {
  f.add_ints(params_.stride);
  f.add_ints(params_.padding_lo);
  f.add_ints(params_.padding_hi);
  f.add_ints(params_.kernel_dilation);
  f.add_ints(params_.input_dilation);
  f.add_int(params_.groups);
  f.add_bool(params_.flip);
}

namespace {
const detail::RegisterLoaders kLoaders{
    {"Convolution", [](ExportFields::Reader& f, const std::vector<array>& in,
                       const std::vector<ExportSpec>&) -> std::vector<array> {
       detail::expect_inputs(in, 2);
       ConvParams p;
       p.stride = f.integers("stride");
       p.padding_lo = f.integers("padding_lo");
       p.padding_hi = f.integers("padding_hi");
       p.kernel_dilation = f.integers("kernel_dilation");
       p.input_dilation = f.integers("input_dilation");
       p.groups = f.integer("groups");
       p.flip = f.boolean("flip");
       return {detail::convolution("conv_general", in[0], in[1], p)};
     }},
};
}  // namespace

}  // namespace ember
