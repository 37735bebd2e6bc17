// Bindings of the index family (mlx.core signatures): take, the along-axis
// ops, sort / argsort / partition / argpartition / topk; array indexing
// itself (__getitem__ / __setitem__) is in indexing.cpp.
#include "bindings.h"
#include "convert.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

void init_indexing(nb::module_& m);  // indexing.cpp

void init_ops_index(nb::module_& m) {
  def_op(m, "take", [](ArrayArg a, ArrayArg indices, AxisArg axis) {
    return take(to_array(a), to_array(indices), to_opt_axis("take", axis));
  }, "a"_a, "indices"_a, "axis"_a.none() = nb::none(),
  "Takes elements along an axis at integer indices (numpy.take).\n\n"
  "Args:\n"
  "    a: Input array.\n"
  "    indices: Integer indices; negative ones count from the end. An index out of\n"
  "        range raises IndexError when the result is evaluated.\n"
  "    axis: The axis to index; None indexes the flattened array.\n\n"
  "Returns:\n"
  "    a.shape[:axis] + indices.shape + a.shape[axis + 1:] (indices.shape for None).\n\n"
  "Example:\n"
  "    >>> mx.take(mx.array([[1, 2], [3, 4]]), mx.array([1, 0]), axis=1)\n"
  "    array([[2, 1],\n"
  "           [4, 3]], dtype=int32)");
  def_op(m, "take_along_axis", [](ArrayArg a, ArrayArg indices, AxisArg axis) {
    return take_along_axis(to_array(a), to_array(indices), to_opt_axis("take_along_axis", axis));
  }, "a"_a, "indices"_a, "axis"_a.none(),
  "Picks values along an axis at per-position indices (numpy.take_along_axis).\n\n"
  "Args:\n"
  "    a: Input array.\n"
  "    indices: Integer array with a's number of dimensions; broadcast against a\n"
  "        in every axis but `axis`.\n"
  "    axis: The axis to index; None uses the flattened a (indices must be 1-D).\n\n"
  "Returns:\n"
  "    out[..., i, ...] = a[..., indices[..., i, ...], ...].");
  def_op(m, "put_along_axis", [](ArrayArg a, ArrayArg indices, ArrayArg values,
                             AxisArg axis) {
    array x = to_array(a);
    return put_along_axis(x, to_array(indices), to_array(values, std::nullopt, &x),
                          to_opt_axis("put_along_axis", axis));
  }, "a"_a, "indices"_a, "values"_a, "axis"_a.none(),
  "Returns a copy of a with values written at indices along an axis.\n\n"
  "Args:\n"
  "    a: Input array.\n"
  "    indices: Integer array as for take_along_axis.\n"
  "    values: Values broadcast to the indexed shape and cast to a's dtype.\n"
  "    axis: The axis to index; None uses the flattened a.\n\n"
  "Returns:\n"
  "    The updated array (a itself is unchanged).");
  def_op(m, "searchsorted", [](ArrayArg seq, ArrayArg values, const std::string& side) {
    array s = to_array(seq);
    return searchsorted(s, to_array(values, std::nullopt, &s), side);
  }, "sorted_sequence"_a, "values"_a, "side"_a = "left",
  "Indices at which values would be inserted to keep the sequence sorted.\n\n"
  "Args:\n"
  "    sorted_sequence: Sorted along its last axis; 1-D serves every value, else its\n"
  "        leading axes match those of values.\n"
  "    values: The values to place.\n"
  "    side: \"left\" (before equal elements) or \"right\" (after them).\n\n"
  "Returns:\n"
  "    uint32 indices shaped like values.");
  def_op(m, "sort", [](ArrayArg a, AxisArg axis) {
    return sort(to_array(a), to_opt_axis("sort", axis));
  },
        "a"_a, "axis"_a.none() = -1,
        "Sorts along an axis (NaNs last, as numpy).\n\n"
        "Args:\n"
        "    a: Input array.\n"
        "    axis: The axis to sort; None sorts the flattened array.\n\n"
        "Returns:\n"
        "    The sorted array.");
  def_op(m, "argsort", [](ArrayArg a, AxisArg axis) {
    return argsort(to_array(a), to_opt_axis("argsort", axis));
  },
        "a"_a, "axis"_a.none() = -1,
        "Indices that sort an array along an axis (stable; NaNs last).\n\n"
        "Args:\n"
        "    a: Input array.\n"
        "    axis: The axis to sort; None sorts the flattened array.\n\n"
        "Returns:\n"
        "    uint32 indices, shaped like a (flattened for None).");
  def_op(m, "partition", [](ArrayArg a, int kth, AxisArg axis) {
    return partition(to_array(a), kth, to_opt_axis("partition", axis));
  }, "a"_a, "kth"_a, "axis"_a.none() = -1,
  "Partially sorts along an axis: element kth lands in its sorted place, no larger\n"
  "elements before it and no smaller ones after it.\n\n"
  "Args:\n"
  "    a: Input array.\n"
  "    kth: The position to fix (negative counts from the end).\n"
  "    axis: The axis; None uses the flattened array.\n\n"
  "Returns:\n"
  "    The partitioned array.");
  def_op(m, "argpartition", [](ArrayArg a, int kth, AxisArg axis) {
    return argpartition(to_array(a), kth, to_opt_axis("argpartition", axis));
  }, "a"_a, "kth"_a, "axis"_a.none() = -1,
  "Indices that partition an array along an axis (see partition).\n\n"
  "Args:\n"
  "    a: Input array.\n"
  "    kth: The position to fix (negative counts from the end).\n"
  "    axis: The axis; None uses the flattened array.\n\n"
  "Returns:\n"
  "    uint32 indices.");
  def_op(m, "topk", [](ArrayArg a, int k, AxisArg axis) {
    return topk(to_array(a), k, to_opt_axis("topk", axis));
  }, "a"_a, "k"_a, "axis"_a.none() = -1,
  "The k largest values along an axis.\n\n"
  "mlx leaves them in partition order; ember returns them sorted ascending.\n\n"
  "Args:\n"
  "    a: Input array.\n"
  "    k: How many values to keep (0 <= k <= size of the axis).\n"
  "    axis: The axis; None uses the flattened array.\n\n"
  "Returns:\n"
  "    An array whose axis has size k.");
  init_indexing(m);
}
