// Bindings of the reduce family, as functions and as array methods.
#include "bindings.h"
#include "convert.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

std::optional<int> to_axis(nb::handle axis) {
  if (axis.is_none()) return std::nullopt;
  return nb::cast<int>(axis);
}

// Defines mx.<name>(a, ...) and the method a.<name>(...) with one body.
template <typename F, typename... Extra>
void def_both(nb::module_& m, const char* name, F f, const char* doc, const Extra&... extra) {
  m.def(name, f, nb::arg("a"), extra..., doc);
  nb::handle cls = nb::type<array>();
  cls.attr(name) = nb::cpp_function(f, nb::is_method(), nb::scope(cls), nb::name(name), extra..., doc);
}

}  // namespace

void init_ops_reduce(nb::module_& m) {
#define REDUCE(name, doc)                                                          \
  def_both(m, #name, [](nb::handle a, nb::handle axis, bool keepdims) {            \
    return name(to_array(a), to_axes(axis), keepdims);                             \
  }, doc, "axis"_a = nb::none(), "keepdims"_a = false)
  REDUCE(sum, "Sum over the given axes (all when axis is None). Small ints sum as int32.");
  REDUCE(prod, "Product over the given axes (all when axis is None).");
  REDUCE(mean, "Mean over the given axes; integers give float32.");
  REDUCE(max, "Maximum over the given axes (NaN propagates).");
  REDUCE(min, "Minimum over the given axes (NaN propagates).");
  REDUCE(all, "True where every element over the axes is nonzero.");
  REDUCE(any, "True where some element over the axes is nonzero.");
  REDUCE(logsumexp, "log(sum(exp(a))) over the axes, computed without overflow.");
#undef REDUCE
  def_both(m, "var", [](nb::handle a, nb::handle axis, bool keepdims, int ddof) {
    return var(to_array(a), to_axes(axis), keepdims, ddof);
  }, "Variance over the axes with ddof degrees of freedom removed.", "axis"_a = nb::none(),
     "keepdims"_a = false, "ddof"_a = 0);
  def_both(m, "std", [](nb::handle a, nb::handle axis, bool keepdims, int ddof) {
    return ember::std(to_array(a), to_axes(axis), keepdims, ddof);
  }, "Standard deviation over the axes.", "axis"_a = nb::none(), "keepdims"_a = false,
     "ddof"_a = 0);
  def_both(m, "argmax", [](nb::handle a, nb::handle axis, bool keepdims) {
    return argmax(to_array(a), to_axis(axis), keepdims);
  }, "Index (uint32) of the first maximum along axis (of the flattened array if None).", "axis"_a = nb::none(), "keepdims"_a = false);
  def_both(m, "argmin", [](nb::handle a, nb::handle axis, bool keepdims) {
    return argmin(to_array(a), to_axis(axis), keepdims);
  }, "Index (uint32) of the first minimum along axis (of the flattened array if None).", "axis"_a = nb::none(), "keepdims"_a = false);
  m.def("softmax", [](nb::handle a, nb::handle axis) { return softmax(to_array(a), to_axes(axis)); },
        "a"_a, "axis"_a = nb::none(), "exp(a) / sum(exp(a)) over the axes (all when None), computed stably.");
  def_both(m, "cumsum", [](nb::handle a, nb::handle axis, bool reverse, bool inclusive) {
    return cumsum(to_array(a), to_axis(axis), reverse, inclusive);
  }, "Cumulative sum along axis (of the flattened array if None).", "axis"_a = nb::none(),
     "reverse"_a = false, "inclusive"_a = true);
  def_both(m, "cumprod", [](nb::handle a, nb::handle axis, bool reverse, bool inclusive) {
    return cumprod(to_array(a), to_axis(axis), reverse, inclusive);
  }, "Cumulative product along axis (of the flattened array if None).", "axis"_a = nb::none(),
     "reverse"_a = false, "inclusive"_a = true);
}
