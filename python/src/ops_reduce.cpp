// Bindings of the reduce family, as functions (mx.sum(a, ...)) and as array
// methods (a.sum(...)) sharing one body and one docstring.
#include <deque>
#include <string>

#include "bindings.h"
#include "convert.h"
#include "ember/errors.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

// axis arguments with a TypeError naming the op for anything that is not an
// int (or, for reductions, a sequence of ints), instead of a bare bad_cast.
[[noreturn]] void bad_axis(const char* op, nb::handle axis, const char* want) {
  throw nb::type_error(msg("[", op, "] axis must be ", want, ", got ",
                           nb::type_name(axis.type()).c_str(), ".")
                           .c_str());
}

Axes axes_arg(const char* op, nb::handle axis) {
  if (nb::isinstance<nb::float_>(axis) || nb::isinstance<nb::str>(axis)) {
    bad_axis(op, axis, "None, an int or a sequence of ints");
  }
  try {
    return to_axes(axis);
  } catch (const std::bad_cast&) {
    bad_axis(op, axis, "None, an int or a sequence of ints");
  }
}

constexpr const char* kAxesArgs =
    "Args:\n"
    "  a: input array.\n"
    "  axis: an int, a sequence of ints, or None (the default) for all axes.\n"
    "  keepdims: keep the reduced axes as size-1 dimensions.\n\n";

// "<what>\n\nArgs: ...\n\nReturns:\n  <returns>"
std::string doc(const char* what, const char* args, const char* returns) {
  return std::string(what) + "\n\n" + args + "Returns:\n  " + returns;
}

}  // namespace

void init_ops_reduce(nb::module_& m) {
  // Docstrings built at run time must outlive the module (a deque never moves them).
  static std::deque<std::string> docs;
  auto d = [](const char* what, const char* args, const char* returns) {
    docs.push_back(doc(what, args, returns));
    return docs.back().c_str();
  };

#define REDUCE(name, what, returns)                                                         \
  def_op_and_method(m, #name, [](ArrayArg a, AxesArg axis, bool keepdims) {                     \
    return name(to_array(a), axes_arg(#name, axis), keepdims);                              \
  }, d(what, kAxesArgs, returns), "axis"_a = nb::none(), "keepdims"_a = false)
  REDUCE(sum, "Sum over the given axes.",
         "The sums; bool and int8 / int16 give int32, uint8 / uint16 give uint32. An empty "
         "selection sums to 0.");
  REDUCE(prod, "Product over the given axes.",
         "The products, with sum's dtypes. An empty selection gives 1.");
  REDUCE(mean, "Mean over the given axes.",
         "The means; ints and bool give float32.");
  REDUCE(max, "Maximum over the given axes; NaN propagates.",
         "The maxima, of a's dtype. ValueError for an empty selection.");
  REDUCE(min, "Minimum over the given axes; NaN propagates.",
         "The minima, of a's dtype. ValueError for an empty selection.");
  REDUCE(all, "Whether every element over the given axes is nonzero.",
         "A bool array (True for an empty selection).");
  REDUCE(any, "Whether some element over the given axes is nonzero.",
         "A bool array (False for an empty selection).");
  REDUCE(logsumexp, "log(sum(exp(a))) over the given axes, computed without overflow.",
         "The results; ints and bool give float32.");
#undef REDUCE

  constexpr const char* kDdofArgs =
      "Args:\n"
      "  a: input array.\n"
      "  axis: an int, a sequence of ints, or None (the default) for all axes.\n"
      "  keepdims: keep the reduced axes as size-1 dimensions.\n"
      "  ddof: delta degrees of freedom: the sum of squares is divided by N - ddof.\n"
      "  correction: the array API's name for ddof (mlx's array.var / array.std take it);\n"
      "    given with a different nonzero ddof, a ValueError.\n\n";
  // ddof, or correction when given (the two are one parameter under two names).
  auto ddof_of = [](const char* op, int ddof, std::optional<int> correction) {
    if (!correction) return ddof;
    if (ddof != 0 && ddof != *correction) {
      throw std::invalid_argument(msg("[", op, "] ddof=", ddof, " and correction=", *correction,
                                      " disagree; give one of them."));
    }
    return *correction;
  };
  def_op_and_method(m, "var", [ddof_of](ArrayArg a, AxesArg axis, bool keepdims, int ddof,
                                        std::optional<int> correction) {
    return var(to_array(a), axes_arg("var", axis), keepdims, ddof_of("var", ddof, correction));
  }, d("Variance over the given axes.", kDdofArgs,
       "The variances; ints give float32, complex64 gives float32."),
     "axis"_a = nb::none(), "keepdims"_a = false, "ddof"_a = 0, nb::kw_only(),
     "correction"_a = nb::none());
  def_op_and_method(m, "std", [ddof_of](ArrayArg a, AxesArg axis, bool keepdims, int ddof,
                                        std::optional<int> correction) {
    return ember::std(to_array(a), axes_arg("std", axis), keepdims,
                      ddof_of("std", ddof, correction));
  }, d("Standard deviation over the given axes.", kDdofArgs, "sqrt(var(a, axis, keepdims, ddof))."),
     "axis"_a = nb::none(), "keepdims"_a = false, "ddof"_a = 0, nb::kw_only(),
     "correction"_a = nb::none());

  constexpr const char* kArgArgs =
      "Args:\n"
      "  a: input array.\n"
      "  axis: an int, or None (the default) for the flattened array.\n"
      "  keepdims: keep the reduced axis as a size-1 dimension.\n\n";
  def_op_and_method(m, "argmax", [](ArrayArg a, AxisArg axis, bool keepdims) {
    return argmax(to_array(a), to_opt_axis("argmax", axis), keepdims);
  }, d("Index of the first maximum along an axis (a NaN counts as the maximum).", kArgArgs,
       "uint32 indices. ValueError for an empty axis."),
     "axis"_a = nb::none(), "keepdims"_a = false);
  def_op_and_method(m, "argmin", [](ArrayArg a, AxisArg axis, bool keepdims) {
    return argmin(to_array(a), to_opt_axis("argmin", axis), keepdims);
  }, d("Index of the first minimum along an axis (a NaN counts as the minimum).", kArgArgs,
       "uint32 indices. ValueError for an empty axis."),
     "axis"_a = nb::none(), "keepdims"_a = false);

  def_op(m, "softmax", [](ArrayArg a, AxesArg axis, bool precise) {
          return softmax(to_array(a), axes_arg("softmax", axis), precise);
        }, "a"_a, "axis"_a = nb::none(), nb::kw_only(), "precise"_a = false,
        d("exp(a) / sum(exp(a)) over the given axes, computed stably (the max is subtracted "
          "first).",
          "Args:\n"
          "  a: input array (ints and bool are computed in float32).\n"
          "  axis: an int, a sequence of ints, or None (the default) for all axes.\n"
          "  precise: compute float16 / bfloat16 input in float32.\n\n",
          "An array of a's shape whose entries along the axes sum to 1."));

  constexpr const char* kScanArgs =
      "Args:\n"
      "  a: input array.\n"
      "  axis: an int, or None (the default) for the flattened array.\n"
      "  reverse: scan from the end of the axis.\n"
      "  inclusive: include each position's own element (else start from the identity).\n\n";
#define SCAN(name, what, returns)                                                           \
  def_op_and_method(m, #name, [](ArrayArg a, AxisArg axis, bool reverse, bool inclusive) {      \
    return name(to_array(a), to_opt_axis(#name, axis), reverse, inclusive);                    \
  }, d(what, kScanArgs, returns), "axis"_a = nb::none(), nb::kw_only(), "reverse"_a = false, \
     "inclusive"_a = true)
  // cumsum and cumprod also take dtype (MLX's): the input is cast to it first.
#define SCAN_CAST(name, what, returns)                                                      \
  def_op_and_method(m, #name, [](ArrayArg a, AxisArg axis, bool reverse, bool inclusive,        \
                        std::optional<Dtype> dtype) {                                      \
    array x = to_array(a);                                                                  \
    if (dtype) x = astype(x, *dtype);                                                       \
    return name(x, to_opt_axis(#name, axis), reverse, inclusive);                              \
  }, d(what, kScanArgs, returns), "axis"_a = nb::none(), nb::kw_only(), "reverse"_a = false, \
     "inclusive"_a = true, "dtype"_a = nb::none())
  SCAN_CAST(cumsum, "Cumulative sum along an axis (of a cast to dtype when given).",
            "An array of a's shape (flattened for axis=None), with sum's dtypes.");
  SCAN_CAST(cumprod, "Cumulative product along an axis (of a cast to dtype when given).",
            "An array of a's shape (flattened for axis=None), with sum's dtypes.");
  SCAN(cummax, "Running maximum along an axis; NaN propagates.",
       "An array of a's shape and dtype (flattened for axis=None).");
  SCAN(cummin, "Running minimum along an axis; NaN propagates.",
       "An array of a's shape and dtype (flattened for axis=None).");
  SCAN(logcumsumexp, "log(cumsum(exp(a))) along an axis, computed without overflow.",
       "An array of a's shape (flattened for axis=None); ints and bool give float32.");
#undef SCAN_CAST
#undef SCAN

  def_op(m, "count_nonzero", [](ArrayArg a, AxesArg axis, bool keepdims) {
    return count_nonzero(to_array(a), axes_arg("count_nonzero", axis), keepdims);
  }, "a"_a, nb::kw_only(), "axis"_a = nb::none(), "keepdims"_a = false,
        d("Counts the nonzero elements over the given axes.", kAxesArgs, "int32 counts."));
  def_op(m, "minmax", [](ArrayArg a, AxesArg axis, bool keepdims) {
    array x = to_array(a);
    Axes ax = axes_arg("minmax", axis);
    return nb::make_tuple(min(x, ax, keepdims), max(x, ax, keepdims));
  }, "a"_a, "axis"_a = nb::none(), "keepdims"_a = false,
        d("The minimum and the maximum over the given axes.", kAxesArgs,
          "A tuple (min, max); NaN propagates; ValueError for an empty selection."));
  def_op(m, "median", [](ArrayArg a, AxesArg axis, bool keepdims) {
    return median(to_array(a), axes_arg("median", axis), keepdims);
  }, "a"_a, "axis"_a = nb::none(), "keepdims"_a = false,
        d("Median over the given axes (the mean of the two middle values for an even count).",
          kAxesArgs, "The medians; ints give float32; NaN where a NaN is among the values."));
}
