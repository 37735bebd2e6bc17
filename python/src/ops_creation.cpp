// Bindings of the creation family.
#include "bindings.h"
#include "convert.h"

#include <cmath>

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

Shape to_shape(nb::handle shape) { return to_shape_arg(shape); }

// full's value: a Python scalar becomes dtype directly, so one out of its range is an error.
array fill_value(nb::handle vals, std::optional<Dtype> dtype) {
  return is_python_scalar(vals) ? to_array(vals, dtype) : to_array(vals);
}

}  // namespace

void init_ops_creation(nb::module_& m) {
  def_op(m, "zeros", [](ShapeArg shape, std::optional<Dtype> dtype) {
    return zeros(to_shape(shape), dtype.value_or(Dtype::float32));
  }, "shape"_a, "dtype"_a = nb::none(), "An array of zeros (float32 by default).");
  def_op(m, "ones", [](ShapeArg shape, std::optional<Dtype> dtype) {
    return ones(to_shape(shape), dtype.value_or(Dtype::float32));
  }, "shape"_a, "dtype"_a = nb::none(), "An array of ones (float32 by default).");
  def_op(m, "full", [](ShapeArg shape, ArrayArg vals, std::optional<Dtype> dtype) {
    return full(to_shape(shape), fill_value(vals, dtype), dtype);
  }, "shape"_a, "vals"_a, "dtype"_a = nb::none(),
     "An array of shape filled with vals (broadcast).");
  def_op(m, "zeros_like", [](ArrayArg a, std::optional<Dtype> dtype) {
    array x = to_array(a);
    return dtype ? zeros(x.shape(), *dtype) : zeros_like(x);
  }, "a"_a, "dtype"_a = nb::none(), "Zeros shaped like a (a's dtype unless dtype is given).");
  def_op(m, "ones_like", [](ArrayArg a, std::optional<Dtype> dtype) {
    array x = to_array(a);
    return dtype ? ones(x.shape(), *dtype) : ones_like(x);
  }, "a"_a, "dtype"_a = nb::none(), "Ones shaped like a (a's dtype unless dtype is given).");
  def_op(m, "full_like", [](ArrayArg a, ArrayArg v, std::optional<Dtype> dtype) {
    array x = to_array(a);
    if (dtype) return full(x.shape(), fill_value(v, dtype), dtype);
    return full_like(x, to_array(v, std::nullopt, &x));
  }, "a"_a, "vals"_a, "dtype"_a = nb::none(),
     "An array shaped like a filled with vals (a's dtype unless dtype is given).");
  def_op(m, "arange", [](NumberArg start, NumberArg stop, NumberArg step,
                     std::optional<Dtype> dtype) {
    // arange(stop) / arange(start, stop[, step]); ints give int32 unless a float is given.
    bool any_float = false;
    for (auto h : {start, stop, step}) any_float |= nb::isinstance<nb::float_>(h);
    double s0 = 0, s1, st = 1;
    if (stop.is_none()) {
      s1 = nb::cast<double>(start);
    } else {
      s0 = nb::cast<double>(start);
      s1 = nb::cast<double>(stop);
    }
    if (!step.is_none()) st = nb::cast<double>(step);
    // Ints give int32, or int64 when a value lies beyond int32 (never a silent wrap).
    Dtype t = any_float ? Dtype::float32 : Dtype::int32;
    if (!dtype && !any_float) {
      const double n = std::ceil((s1 - s0) / st), last = s0 + (n > 0 ? n - 1 : 0) * st;
      for (double v : {s0, last}) {
        if (v < -2147483648.0 || v > 2147483647.0) t = Dtype::int64;
      }
    }
    return arange(s0, s1, st, dtype.value_or(t));
  }, "start"_a, "stop"_a = nb::none(), "step"_a = nb::none(), "dtype"_a = nb::none(),
     "Evenly spaced values in [start, stop) (numpy.arange).");
  def_op(m, "linspace", [](double start, double stop, int64_t num, bool endpoint,
                           std::optional<Dtype> dtype) {
    // Without the endpoint: num values start + i * (stop - start) / num.
    if (!endpoint && num > 1) stop = start + (stop - start) / double(num) * double(num - 1);
    return linspace(start, stop, num, dtype.value_or(Dtype::float32));
  }, "start"_a, "stop"_a, "num"_a = 50, "endpoint"_a = true, "dtype"_a = nb::none(),
     "num evenly spaced values from start to stop (stop excluded when endpoint is False).");
  def_op(m, "eye", [](int64_t n, std::optional<int64_t> m_, int k, std::optional<Dtype> dtype) {
    return eye(n, m_, k, dtype.value_or(Dtype::float32));
  }, "n"_a, "m"_a = nb::none(), "k"_a = 0, "dtype"_a = nb::none(),
     "Ones on diagonal k, zeros elsewhere.");
  def_op(m, "identity", [](int64_t n, std::optional<Dtype> dtype) {
    return identity(n, dtype.value_or(Dtype::float32));
  }, "n"_a, "dtype"_a = nb::none(), "The n x n identity matrix.");
  def_op(m, "tri", [](int64_t n, std::optional<int64_t> m_, int k, std::optional<Dtype> dtype) {
    return tri(n, m_, k, dtype.value_or(Dtype::float32));
  }, "n"_a, "m"_a = nb::none(), "k"_a = 0, "dtype"_a = nb::none(), "Ones on and below diagonal k.");
  def_op(m, "tril", [](ArrayArg a, int k) { return tril(to_array(a), k); }, "x"_a, "k"_a = 0,
        "Zeros above diagonal k.");
  def_op(m, "triu", [](ArrayArg a, int k) { return triu(to_array(a), k); }, "x"_a, "k"_a = 0,
        "Zeros below diagonal k.");
  def_op(m, "astype", [](ArrayArg a, Dtype t) { return astype(to_array(a), t); }, "a"_a, "dtype"_a,
        "a converted to dtype.");
  def_op(m, "copy", [](ArrayArg a) { return copy(to_array(a)); }, "a"_a, "A copy of a.");
  // empty: ember has no uninitialized memory to hand out, so it is zeros.
  def_op(m, "empty", [](ShapeArg shape, std::optional<Dtype> dtype) {
    return zeros(to_shape(shape), dtype.value_or(Dtype::float32));
  }, "shape"_a, "dtype"_a = nb::none(),
     "An array of the shape and dtype (float32 by default); its values are zeros.");
  def_op(m, "empty_like", [](ArrayArg a, std::optional<Dtype> dtype) {
    array x = to_array(a);
    return zeros(x.shape(), dtype.value_or(x.dtype()));
  }, "a"_a, "dtype"_a = nb::none(), "An array shaped like a (values: zeros).");
#define WINDOW(name, what)                                                                  \
  def_op(m, #name, [](int64_t M) { return name(M); }, "M"_a,                                  \
        what " window of M points (numpy's definition), float32.\n\n"                       \
        "Args:\n    M: number of points (0 or less gives an empty array).\n\n"             \
        "Returns:\n    array: the window, of shape (M,).")
  WINDOW(hanning, "The Hann");
  WINDOW(hamming, "The Hamming");
  WINDOW(blackman, "The Blackman");
  WINDOW(bartlett, "The Bartlett (triangular)");
#undef WINDOW
}
