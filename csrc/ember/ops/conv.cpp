// The conv ops: each spells its parameters out as a ConvParams and calls
// detail::convolution, the one place that checks them and builds a Convolution node.
#include "ember/ops/conv.h"

#include <algorithm>
#include <climits>

#include "ember/errors.h"
#include "ember/ops.h"
#include "ember/primitives/conv.h"

namespace ember {

namespace {

// One value per spatial axis from a list of nd values, one value, or none (the default).
std::vector<int64_t> per_axis(const char* op, const char* what, const std::vector<int>& v,
                              int nd, int fallback) {
  if (v.empty()) return std::vector<int64_t>(nd, fallback);
  if (v.size() == 1) return std::vector<int64_t>(nd, v[0]);
  if (int(v.size()) != nd) {
    throw std::invalid_argument(msg("[", op, "] ", what, " needs ", nd,
                                    " values (one per spatial axis) or one, got ", v.size(),
                                    "."));
  }
  return std::vector<int64_t>(v.begin(), v.end());
}

void require_rank(const char* op, const array& input, const array& weight, int nd) {
  if (input.ndim() != nd + 2 || weight.ndim() != nd + 2) {
    throw std::invalid_argument(
        msg("[", op, "] Expected an input (N, ", nd, " spatial dims, C_in) and a weight (C_out, ",
            nd, " kernel dims, C_in / groups), both ", nd + 2, "-D, got shapes ", input.shape(),
            " and ", weight.shape(), "."));
  }
}

ConvParams params_of(const char* op, int nd, const std::vector<int>& stride,
                     const std::vector<int>& lo, const std::vector<int>& hi,
                     const std::vector<int>& kernel_dilation,
                     const std::vector<int>& input_dilation, int groups, bool flip) {
  ConvParams p;
  p.stride = per_axis(op, "stride", stride, nd, 1);
  p.padding_lo = per_axis(op, "padding", lo, nd, 0);
  p.padding_hi = per_axis(op, "padding", hi, nd, 0);
  p.kernel_dilation = per_axis(op, "kernel_dilation", kernel_dilation, nd, 1);
  p.input_dilation = per_axis(op, "input_dilation", input_dilation, nd, 1);
  p.groups = groups;
  p.flip = flip;
  return p;
}

// conv_transpose{1,2,3}d: the input dilated by stride, convolved with the reversed kernel
// (the input's gradient of conv{1,2,3}d with the same arguments).
array conv_transpose(const char* op, const array& input, const array& weight,
                     const std::vector<int>& stride, const std::vector<int>& padding,
                     const std::vector<int>& dilation, const std::vector<int>& output_padding,
                     int groups) {
  const int nd = int(stride.size());
  require_rank(op, input, weight, nd);
  ConvParams p;
  p.groups = groups;
  p.flip = true;
  for (int i = 0; i < nd; ++i) {
    const int64_t lo = int64_t(dilation[i]) * (weight.shape(1 + i) - 1) - padding[i];
    p.stride.push_back(1);
    p.input_dilation.push_back(stride[i]);
    p.kernel_dilation.push_back(dilation[i]);
    p.padding_lo.push_back(lo);
    p.padding_hi.push_back(lo + output_padding[i]);
  }
  return detail::convolution(op, input, weight, p);
}

}  // namespace

namespace detail {

array convolution(const char* op, const array& input, const array& weight,
                  const ConvParams& p) {
  const int nd = p.ndim();
  if (input.ndim() < 3 || weight.ndim() != input.ndim()) {
    throw std::invalid_argument(
        msg("[", op, "] input (N, spatial..., C_in) and weight (C_out, kernel..., C_in / "
                     "groups) must have the same number of dimensions, at least 3; got shapes ",
            input.shape(), " and ", weight.shape(), "."));
  }
  if (input.ndim() != nd + 2) {
    throw std::invalid_argument(msg("[", op, "] The parameters have ", nd,
                                    " values (one per spatial axis) but the input (shape ",
                                    input.shape(), ") has ", input.ndim() - 2,
                                    " spatial axes."));
  }
  // The ops give every list nd values; a rule's or an imported file's parameters are checked
  // here too, and paddings kept within the size range so the shape arithmetic cannot overflow.
  auto per_spatial_axis = [&](const char* what, const std::vector<int64_t>& v) {
    if (int(v.size()) != nd) {
      throw std::invalid_argument(msg("[", op, "] ", what, " has ", v.size(), " values for ", nd,
                                      " spatial axes."));
    }
  };
  per_spatial_axis("padding_lo", p.padding_lo);
  per_spatial_axis("padding_hi", p.padding_hi);
  per_spatial_axis("kernel_dilation", p.kernel_dilation);
  per_spatial_axis("input_dilation", p.input_dilation);
  for (const auto* pads : {&p.padding_lo, &p.padding_hi}) {
    for (int64_t v : *pads) {
      if (v < -kMaxArraySize || v > kMaxArraySize) {
        throw std::invalid_argument(msg("[", op, "] The padding ", v, " is out of range."));
      }
    }
  }
  const Dtype t = promote_types(input.dtype(), weight.dtype());
  if (!is_floating(t)) {
    throw type_error(msg("[", op, "] Convolutions take floating-point inputs (float16, bfloat16, "
                                  "float32, float64), got ",
                         dtype_name(input.dtype()), " and ", dtype_name(weight.dtype()), "."));
  }
  auto positive = [&](const char* what, const std::vector<int64_t>& v) {
    if (std::any_of(v.begin(), v.end(), [](int64_t d) { return d < 1; })) {
      throw std::invalid_argument(msg("[", op, "] ", what, " must be positive, got ", v,
                                      " (input shape ", input.shape(), ", weight shape ",
                                      weight.shape(), ")."));
    }
  };
  positive("stride", p.stride);
  positive("kernel_dilation", p.kernel_dilation);
  positive("input_dilation", p.input_dilation);
  if (p.groups < 1) {
    throw std::invalid_argument(msg("[", op, "] groups must be positive, got ", p.groups,
                                    " (input shape ", input.shape(), ", weight shape ",
                                    weight.shape(), ")."));
  }
  const int64_t ci = input.shape(-1), co = weight.shape(0), cg = weight.shape(-1);
  if (checked_mul(op, cg, p.groups) != ci) {
    throw std::invalid_argument(
        msg("[", op, "] The input has ", ci, " channels (shape ", input.shape(),
            ") but the weight (shape ", weight.shape(), ") takes ", cg, " per group, times groups=",
            p.groups, " is ", cg * p.groups, "."));
  }
  if (co % p.groups != 0) {
    throw std::invalid_argument(msg("[", op, "] The weight's ", co, " output channels (shape ",
                                    weight.shape(), ") are not divisible by groups=", p.groups,
                                    "."));
  }
  // The kernel hands BLAS a weight row (taps x C_in / groups) and channel counts as ints.
  const int64_t row = co == 0 ? 0 : weight.size() / co;
  if (row > INT_MAX || co > INT_MAX || ci > INT_MAX) {
    throw std::invalid_argument(msg("[", op, "] The weight (shape ", weight.shape(),
                                    ") exceeds the BLAS limit of ", INT_MAX,
                                    " (32-bit sizes) per output channel."));
  }
  Shape out_shape = {input.shape(0)};
  for (int i = 0; i < nd; ++i) {
    const int64_t k = weight.shape(1 + i);
    if (k == 0) {
      throw std::invalid_argument(msg("[", op, "] The kernel has size 0 along spatial axis ", i,
                                      " (weight shape ", weight.shape(), ")."));
    }
    // In int64 with room to spare: sizes are < 2^60 and parameters come from ints.
    const int64_t span = checked_add(op, checked_mul(op, k - 1, p.kernel_dilation[i]), 1);
    const int64_t s = input.shape(1 + i);
    const int64_t size =
        s == 0 ? 0 : checked_add(op, checked_mul(op, s - 1, p.input_dilation[i]), 1);
    const int64_t padded = size + p.padding_lo[i] + p.padding_hi[i];
    if (padded < span) {
      throw std::invalid_argument(
          msg("[", op, "] Along spatial axis ", i, ", the input (shape ", input.shape(),
              ") after dilation ", p.input_dilation[i], " and padding (", p.padding_lo[i], ", ",
              p.padding_hi[i], ") has size ", padded, ", smaller than the dilated kernel (size ",
              span, ": weight shape ", weight.shape(), ", kernel dilation ",
              p.kernel_dilation[i], ")."));
    }
    out_shape.push_back((padded - span) / p.stride[i] + 1);
  }
  out_shape.push_back(co);
  shape_size(out_shape, op);
  return make_node<Convolution>(out_shape, t, {astype(input, t), astype(weight, t)}, p);
}

}  // namespace detail

array conv_general(const array& input, const array& weight, std::vector<int> stride,
                   std::vector<int> padding_lo, std::vector<int> padding_hi,
                   std::vector<int> kernel_dilation, std::vector<int> input_dilation, int groups,
                   bool flip) {
  const char* op = "conv_general";
  if (input.ndim() < 3 || weight.ndim() != input.ndim()) {
    return detail::convolution(op, input, weight, ConvParams{});  // throws the rank error
  }
  return detail::convolution(op, input, weight,
                             params_of(op, input.ndim() - 2, stride, padding_lo, padding_hi,
                                       kernel_dilation, input_dilation, groups, flip));
}

array conv1d(const array& input, const array& weight, int stride, int padding, int dilation,
             int groups) {
  require_rank("conv1d", input, weight, 1);
  return detail::convolution(
      "conv1d", input, weight,
      params_of("conv1d", 1, {stride}, {padding}, {padding}, {dilation}, {1}, groups, false));
}

array conv2d(const array& input, const array& weight, const std::pair<int, int>& stride,
             const std::pair<int, int>& padding, const std::pair<int, int>& dilation,
             int groups) {
  require_rank("conv2d", input, weight, 2);
  std::vector<int> pad = {padding.first, padding.second};
  return detail::convolution(
      "conv2d", input, weight,
      params_of("conv2d", 2, {stride.first, stride.second}, pad, pad,
                {dilation.first, dilation.second}, {1}, groups, false));
}

array conv3d(const array& input, const array& weight, const std::tuple<int, int, int>& stride,
             const std::tuple<int, int, int>& padding, const std::tuple<int, int, int>& dilation,
             int groups) {
  require_rank("conv3d", input, weight, 3);
  auto v = [](const std::tuple<int, int, int>& t) {
    return std::vector<int>{std::get<0>(t), std::get<1>(t), std::get<2>(t)};
  };
  return detail::convolution("conv3d", input, weight,
                             params_of("conv3d", 3, v(stride), v(padding), v(padding),
                                       v(dilation), {1}, groups, false));
}

array conv_transpose1d(const array& input, const array& weight, int stride, int padding,
                       int dilation, int output_padding, int groups) {
  return conv_transpose("conv_transpose1d", input, weight, {stride}, {padding}, {dilation},
                        {output_padding}, groups);
}

array conv_transpose2d(const array& input, const array& weight, const std::pair<int, int>& stride,
                       const std::pair<int, int>& padding, const std::pair<int, int>& dilation,
                       const std::pair<int, int>& output_padding, int groups) {
  auto v = [](const std::pair<int, int>& p) { return std::vector<int>{p.first, p.second}; };
  return conv_transpose("conv_transpose2d", input, weight, v(stride), v(padding), v(dilation),
                        v(output_padding), groups);
}

array conv_transpose3d(const array& input, const array& weight,
                       const std::tuple<int, int, int>& stride,
                       const std::tuple<int, int, int>& padding,
                       const std::tuple<int, int, int>& dilation,
                       const std::tuple<int, int, int>& output_padding, int groups) {
  auto v = [](const std::tuple<int, int, int>& t) {
    return std::vector<int>{std::get<0>(t), std::get<1>(t), std::get<2>(t)};
  };
  return conv_transpose("conv_transpose3d", input, weight, v(stride), v(padding), v(dilation),
                        v(output_padding), groups);
}

// numpy's convolve slides the reversed shorter input over the longer one: a flipped
// 1-channel conv1d, whose padding picks the mode's part of the full result.
array convolve(const array& a_in, const array& v_in, const std::string& mode) {
  if (a_in.ndim() != 1 || v_in.ndim() != 1) {
    throw std::invalid_argument(msg("[convolve] Inputs must be 1-D, got shapes ", a_in.shape(),
                                    " and ", v_in.shape(), "."));
  }
  if (a_in.size() == 0 || v_in.size() == 0) {
    throw std::invalid_argument(msg("[convolve] Inputs must not be empty, got shapes ",
                                    a_in.shape(), " and ", v_in.shape(), "."));
  }
  if (mode != "full" && mode != "same" && mode != "valid") {
    throw std::invalid_argument(
        msg("[convolve] mode must be \"full\", \"same\" or \"valid\", got \"", mode, "\"."));
  }
  const bool swap = v_in.size() > a_in.size();
  const array& a = swap ? v_in : a_in;
  const array& v = swap ? a_in : v_in;
  const int64_t n = a.size(), m = v.size();
  int64_t lo = 0, hi = 0;
  if (mode == "full") {
    lo = hi = m - 1;
  } else if (mode == "same") {
    hi = (m - 1) / 2;
    lo = m - 1 - hi;
  }
  ConvParams p;
  p.stride = p.kernel_dilation = p.input_dilation = {1};
  p.padding_lo = {lo};
  p.padding_hi = {hi};
  p.flip = true;
  array out = detail::convolution("convolve", reshape(a, {1, n, 1}), reshape(v, {1, m, 1}), p);
  return reshape(out, {out.shape(1)});
}

}  // namespace ember
