// Bindings of the shape family (mlx.core signatures), plus the shape methods
// of array: a.reshape(*shape), a.flatten(), a.squeeze(), a.transpose(*axes), ...
#include <nanobind/stl/pair.h>

#include "bindings.h"
#include "convert.h"
#include "ember/errors.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

// An int, a numpy integer, or a 0-d integer array (anything with __index__ and no length).
bool is_int(nb::handle h) {
  if (nb::isinstance<nb::int_>(h)) return true;
  if (nb::hasattr(h, "ndim")) {
    return nb::cast<int>(h.attr("ndim")) == 0 && nb::hasattr(h, "__index__");
  }
  return nb::hasattr(h, "__index__");
}

// Beyond int64: a ValueError, not nanobind's bad_cast.
int64_t as_int(nb::handle h) {
  nb::int_ i(h);
  int64_t v;
  if (!nb::try_cast<int64_t>(i, v)) {
    PyErr_Clear();
    throw std::invalid_argument(std::string("The integer ") + nb::str(i).c_str() +
                                " does not fit in 64 bits.");
  }
  return v;
}

std::vector<int64_t> to_ints(nb::handle seq) {
  if (is_int(seq)) return {as_int(seq)};
  std::vector<int64_t> out;
  for (nb::handle h : seq) out.push_back(as_int(h));
  return out;
}

std::vector<int> to_int_axes(nb::handle seq) {
  std::vector<int> out;
  // Each axis must fit a C int: 2**32 must not wrap around to axis 0.
  for (int64_t v : to_ints(seq)) out.push_back(to_int_axis(nb::int_(v)));
  return out;
}

// a.reshape(2, 3) and a.reshape((2, 3)) both work, as in numpy.
std::vector<int64_t> varargs_ints(const nb::args& args) {
  if (args.size() == 1 && !is_int(args[0])) return to_ints(args[0]);
  std::vector<int64_t> out;
  for (nb::handle h : args) out.push_back(as_int(h));
  return out;
}

array squeeze_py(const array& a, nb::handle axis) {
  if (axis.is_none()) return squeeze(a);
  auto axes = to_int_axes(axis);
  // An explicit empty list squeezes nothing (the C++ default means "all").
  return axes.empty() ? a : squeeze(a, axes);
}

array transpose_py(const array& a, std::optional<std::vector<int>> axes) {
  if (axes && axes->empty() && a.ndim() > 0) {
    throw std::invalid_argument(msg("[transpose] Got 0 axes for an array with ", a.ndim(),
                                    " dimensions (shape ", a.shape(), ")."));
  }
  return transpose(a, axes.value_or(std::vector<int>{}));
}

nb::list split_py(const array& a, nb::handle sections, nb::handle axis_arg) {
  int axis = to_axis("split", axis_arg);
  std::vector<array> parts = is_int(sections) ? split(a, int(as_int(sections)), axis)
                                               : split(a, to_ints(sections), axis);
  nb::list out;
  for (auto& p : parts) out.append(nb::cast(p));
  return out;
}

std::vector<array> to_array_list(nb::handle arrays) {
  std::vector<array> out;
  for (nb::handle h : arrays) out.push_back(to_array(h));
  return out;
}

// numpy's pad_width rules: an int, (n,), (before, after), or one of those per
// axis, broadcast to (ndim, 2).
std::vector<std::pair<int64_t, int64_t>> pad_widths(nb::handle w, int ndim) {
  auto bad = [&]() {
    return std::invalid_argument(msg("[pad] pad_width must be an int, a (before, after) pair, "
                                     "or one pair per axis (", ndim, " axes)."));
  };
  std::vector<std::vector<int64_t>> rows;
  if (is_int(w)) {
    rows.push_back({as_int(w)});
  } else {
    nb::list items(w);
    bool nested = items.size() > 0 && !is_int(items[0]);
    if (!nested) {
      rows.push_back(to_ints(items));
    } else {
      for (nb::handle r : items) {
        if (is_int(r)) throw bad();
        rows.push_back(to_ints(r));
      }
    }
    if (nested && int(rows.size()) != ndim && rows.size() != 1) throw bad();
  }
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int i = 0; i < ndim; ++i) {
    const auto& r = rows[rows.size() == 1 ? 0 : i];
    if (r.size() == 1) out.emplace_back(r[0], r[0]);
    else if (r.size() == 2) out.emplace_back(r[0], r[1]);
    else throw bad();
  }
  return out;
}

const char* kSplitDoc =
    "Splits an array into equal parts or at indices along an axis.\n\n"
    "Args:\n"
    "    a: Input array.\n"
    "    indices_or_sections: Number of equal parts (must divide the axis), or the indices\n"
    "        where each part starts.\n"
    "    axis: Axis to split along.\n\n"
    "Returns:\n"
    "    A list of arrays.";

}  // namespace

void init_ops_shape(nb::module_& m) {
  def_op(m, "reshape", [](ArrayArg a, ShapeArg shape) {
    return reshape(to_array(a), to_ints(shape));
  },
        "a"_a, "shape"_a,
        "Gives the array a new shape with the same elements (one dimension may be -1).\n\n"
        "Args:\n    a: Input array.\n    shape: The new shape.\n\n"
        "Returns:\n    The reshaped array (a view when a is contiguous).");
  def_op(m, "flatten", [](ArrayArg a, AxisArg start_axis, AxisArg end_axis) {
    return flatten(to_array(a), to_axis("flatten", start_axis), to_axis("flatten", end_axis));
  }, "a"_a, "start_axis"_a = 0, "end_axis"_a = -1,
        "Merges the axes from start_axis to end_axis (inclusive) into one.\n\n"
        "Args:\n    a: Input array.\n    start_axis: First axis to merge.\n"
        "    end_axis: Last axis to merge.\n\nReturns:\n    The flattened array.");
  def_op(m, "squeeze", [](ArrayArg a, AxesArg axis) { return squeeze_py(to_array(a), axis); },
        "a"_a, "axis"_a = nb::none(),
        "Removes axes of size one.\n\n"
        "Args:\n    a: Input array.\n"
        "    axis: Axis or axes to remove (all size-1 axes when None).\n\n"
        "Returns:\n    The squeezed array.");
  def_op(m, "expand_dims", [](ArrayArg a, AxesArg axis) {
    return expand_dims(to_array(a), to_int_axes(axis));
  }, "a"_a, "axis"_a,
        "Inserts axes of size one.\n\n"
        "Args:\n    a: Input array.\n    axis: Position(s) of the new axes in the result.\n\n"
        "Returns:\n    The expanded array.");
  def_op(m, "transpose", [](ArrayArg a, std::optional<std::vector<int>> axes) {
    return transpose_py(to_array(a), std::move(axes));
  }, "a"_a, "axes"_a = nb::none(),
        "Permutes the axes.\n\n"
        "Args:\n    a: Input array.\n    axes: The permutation (reversed axes when None).\n\n"
        "Returns:\n    The transposed array (a view).");
  def_op(m, "swapaxes", [](ArrayArg a, AxisArg axis1, AxisArg axis2) {
    return swapaxes(to_array(a), to_axis("swapaxes", axis1), to_axis("swapaxes", axis2));
  }, "a"_a, "axis1"_a, "axis2"_a,
        "Swaps two axes.\n\nArgs:\n    a: Input array.\n    axis1: First axis.\n"
        "    axis2: Second axis.\n\nReturns:\n    The array with the two axes swapped.");
  def_op(m, "moveaxis", [](ArrayArg a, AxisArg source, AxisArg destination) {
    return moveaxis(to_array(a), to_axis("moveaxis", source), to_axis("moveaxis", destination));
  }, "a"_a, "source"_a, "destination"_a,
        "Moves one axis to a new position.\n\nArgs:\n    a: Input array.\n"
        "    source: Axis to move.\n    destination: Its position in the result.\n\n"
        "Returns:\n    The array with the axis moved.");
  def_op(m, "broadcast_to", [](ArrayArg a, ShapeArg shape) {
    return broadcast_to(to_array(a), to_ints(shape));
  }, "a"_a, "shape"_a,
        "Broadcasts an array to a shape (numpy rules).\n\n"
        "Args:\n    a: Input array.\n    shape: The target shape.\n\n"
        "Returns:\n    The broadcast array (a view).");
  def_op(m, "broadcast_arrays", [](nb::args arrays) {
    auto out = broadcast_arrays(to_array_list(arrays));
    nb::list l;
    for (auto& x : out) l.append(nb::cast(x));
    return nb::tuple(l);
  }, nb::sig("def broadcast_arrays(*arrays: array | numpy.typing.ArrayLike, "
             EMBER_STREAM_PARAM ") -> tuple[array, ...]"),
     "arrays"_a, "Broadcasts arrays against each other.\n\n"
     "Args:\n    *arrays: Input arrays.\n\nReturns:\n    A tuple of arrays of the common shape.");
  def_op(m, "concatenate", [](ArraysArg arrays, AxisArg axis_arg) {
    auto xs = to_array_list(arrays);
    std::optional<int> axis = to_opt_axis("concatenate", axis_arg);
    if (!axis) {
      for (auto& x : xs) x = flatten(x);
      return concatenate(xs, 0);
    }
    return concatenate(xs, *axis);
  }, "arrays"_a, "axis"_a.none() = 0,
        "Joins arrays along an existing axis (dtypes promote).\n\n"
        "Args:\n    arrays: Arrays with equal shapes except along axis.\n"
        "    axis: Axis to join along; None flattens the arrays first.\n\n"
        "Returns:\n    The concatenated array.");
  def_op(m, "stack", [](ArraysArg arrays, AxisArg axis) {
    return stack(to_array_list(arrays), to_axis("stack", axis));
  },
        "arrays"_a, "axis"_a = 0,
        "Joins arrays of one shape along a new axis.\n\n"
        "Args:\n    arrays: Arrays of equal shape.\n    axis: Position of the new axis.\n\n"
        "Returns:\n    The stacked array.");
  def_op(m, "split", [](ArrayArg a, IntsArg sections, AxisArg axis) {
    return split_py(to_array(a), sections, axis);
  }, "a"_a, "indices_or_sections"_a, "axis"_a = 0, kSplitDoc);
  def_op(m, "repeat", [](ArrayArg a, int64_t repeats, AxisArg axis) {
    return repeat(to_array(a), repeats, to_opt_axis("repeat", axis));
  }, "array"_a, "repeats"_a, "axis"_a.none() = nb::none(),
        "Repeats each element along an axis.\n\n"
        "Args:\n    array: Input array.\n    repeats: Copies of each element.\n"
        "    axis: Axis to repeat along (the flattened array when None).\n\n"
        "Returns:\n    The repeated array.");
  def_op(m, "tile", [](ArrayArg a, ShapeArg reps) { return tile(to_array(a), to_ints(reps)); },
        "a"_a, "reps"_a,
        "Repeats the whole array reps[i] times along axis i (numpy rules).\n\n"
        "Args:\n    a: Input array.\n    reps: Repetitions per axis (an int or a sequence).\n\n"
        "Returns:\n    The tiled array.");
  def_op(m, "pad", [](ArrayArg a, PadWidthArg pad_width, const std::string& mode,
                  ArrayArg constant_values) {
    array x = to_array(a);
    if (mode != "constant") {
      throw std::invalid_argument(msg("[pad] Only mode=\"constant\" is supported, got \"", mode,
                                      "\"."));
    }
    return pad(x, pad_widths(pad_width, x.ndim()), to_array(constant_values, std::nullopt, &x));
  }, "a"_a, "pad_width"_a, "mode"_a = "constant", "constant_values"_a = 0,
        "Pads an array with a constant value.\n\n"
        "Args:\n    a: Input array.\n"
        "    pad_width: An int, a (before, after) pair, or one pair per axis (numpy rules).\n"
        "    mode: Only \"constant\".\n"
        "    constant_values: The fill value (cast to a's dtype).\n\n"
        "Returns:\n    The padded array.");

  // ---- array methods ----
  auto cls = nb::type<array>();
  auto method = [&](const char* name, auto&& f, auto... extra) {
    cls.attr(name) = nb::cpp_function(std::forward<decltype(f)>(f), nb::is_method(),
                                      nb::name(name), extra...);
  };
  method("reshape", [](const array& a, nb::args shape) { return reshape(a, varargs_ints(shape)); },
         nb::sig("def reshape(self, *shape: int | collections.abc.Sequence[int]) -> array"),
         "Gives the array a new shape: a.reshape(2, 3) or a.reshape((2, 3)).");
  method("flatten", [](const array& a, int s, int e) { return flatten(a, s, e); },
         "start_axis"_a = 0, "end_axis"_a = -1, "Merges axes start_axis..end_axis into one.");
  method("squeeze", [](const array& a, AxesArg axis) { return squeeze_py(a, axis); },
         "axis"_a = nb::none(), "Removes axes of size one.");
  method("transpose", [](const array& a, nb::args axes) {
    if (axes.size() == 0) return transpose(a);
    auto ints = varargs_ints(axes);
    return transpose_py(a, std::vector<int>(ints.begin(), ints.end()));
  }, nb::sig("def transpose(self, *axes: int | collections.abc.Sequence[int]) -> array"),
     "Permutes the axes: a.transpose(1, 0) or a.transpose((1, 0)); reversed when none given.");
  method("swapaxes", [](const array& a, AxisArg i, AxisArg j) {
    return swapaxes(a, to_axis("swapaxes", i), to_axis("swapaxes", j));
  }, "axis1"_a,
         "axis2"_a, "Swaps two axes.");
  method("moveaxis", [](const array& a, AxisArg s, AxisArg d) {
    return moveaxis(a, to_axis("moveaxis", s), to_axis("moveaxis", d));
  }, "source"_a,
         "destination"_a, "Moves one axis to a new position.");
  method("split", [](const array& a, IntsArg sections, AxisArg axis) {
    return split_py(a, sections, axis);
  }, "indices_or_sections"_a, "axis"_a = 0, "Splits into equal parts or at indices along an axis.");

  // ---- issue 9: the rest of the shape family ----
  auto opt_axes = [](nb::handle axis) -> std::optional<std::vector<int>> {
    if (axis.is_none()) return std::nullopt;
    return to_int_axes(axis);
  };
  def_op(m, "flip", [opt_axes](ArrayArg a, AxesArg axis) {
    return flip(to_array(a), opt_axes(axis));
  }, "a"_a, "axis"_a = nb::none(),
        "Reverses the order of elements along the given axes (all when None).\n\n"
        "Args:\n    a: Input array.\n    axis: An int, a sequence of ints, or None.\n\n"
        "Returns:\n    The flipped array (a view).");
  def_op(m, "roll", [opt_axes](ArrayArg a, IntsArg shift, AxesArg axis) {
    return roll(to_array(a), to_ints(shift), opt_axes(axis));
  }, "a"_a, "shift"_a, "axis"_a = nb::none(),
        "Rolls elements along axes: those shifted past the end come back at the start.\n\n"
        "Args:\n    a: Input array.\n    shift: An int or a tuple of ints (one per axis).\n"
        "    axis: An int, a tuple of ints, or None (the flattened array, then reshaped).\n\n"
        "Returns:\n    The rolled array.");
  def_op(m, "diagonal", [](ArrayArg a, int offset, AxisArg axis1, AxisArg axis2) {
    return diagonal(to_array(a), offset, to_axis("diagonal", axis1), to_axis("diagonal", axis2));
  }, "a"_a, "offset"_a = 0, "axis1"_a = 0, "axis2"_a = 1,
        "The diagonal at offset of the planes given by axis1 and axis2, as the last axis.\n\n"
        "Args:\n    a: Input array, at least 2-D.\n    offset: Above (> 0) or below (< 0) the main "
        "diagonal.\n    axis1: Row axis.\n    axis2: Column axis.\n\n"
        "Returns:\n    The diagonals.");
  method("diagonal", [](const array& a, int offset, AxisArg axis1, AxisArg axis2) {
    return diagonal(a, offset, to_axis("diagonal", axis1), to_axis("diagonal", axis2));
  }, "offset"_a = 0, "axis1"_a = 0, "axis2"_a = 1, "The diagonal (see ember.core.diagonal).");
  def_op_and_method(m, "diag", [](ArrayArg a, int k) { return diag(to_array(a), k); },
        "The k-th diagonal of a 2-D array, or a 2-D array with the 1-D input on diagonal k.\n\n"
        "Args:\n    a: A 1-D or 2-D array.\n    k: The diagonal (> 0 above the main one).\n\n"
        "Returns:\n    A 1-D or 2-D array.", "k"_a = 0);
#define ATLEAST(name)                                                                       \
  def_op(m, #name, [](nb::args arys) -> nb::object {                                            \
    nb::list out;                                                                           \
    for (nb::handle h : arys) out.append(nb::cast(name(to_array(h))));                      \
    if (out.size() == 1) return out[0];                                                     \
    return std::move(out);                                                                  \
  }, "arys"_a,                                                                            \
     nb::sig("def " #name "(*arys: array, " EMBER_STREAM_PARAM ") -> array | list[array]"), \
        "The inputs with at least as many dimensions as the name says (numpy's placement).\n\n" \
        "Args:\n    *arys: Input arrays.\n\nReturns:\n    An array for one input, else a list.")
  ATLEAST(atleast_1d);
  ATLEAST(atleast_2d);
  ATLEAST(atleast_3d);
#undef ATLEAST
  def_op(m, "unflatten", [](ArrayArg a, AxisArg axis, ShapeArg shape) {
    return unflatten(to_array(a), to_axis("unflatten", axis), to_ints(shape));
  }, "a"_a, "axis"_a, "shape"_a,
        "Splits one axis into several.\n\n"
        "Args:\n    a: Input array.\n    axis: The axis to split.\n"
        "    shape: Its new dimensions (one may be -1).\n\nReturns:\n    The reshaped array.");
  def_op(m, "unstack", [](ArrayArg x, AxisArg axis) {
    nb::list out;
    for (auto& p : unstack(to_array(x), to_axis("unstack", axis))) out.append(nb::cast(p));
    return nb::tuple(out);
  }, "x"_a, nb::kw_only(), "axis"_a = 0,
        "Splits an array into its slices along axis, without that axis.\n\n"
        "Args:\n    x: Input array.\n    axis: The axis to unstack.\n\n"
        "Returns:\n    A tuple of arrays.");
  def_op(m, "meshgrid", [](nb::args arrays, bool sparse, const std::string& indexing) {
    nb::list out;
    for (auto& p : meshgrid(to_array_list(arrays), sparse, indexing)) out.append(nb::cast(p));
    return out;
  }, "arrays"_a, "sparse"_a = false, "indexing"_a = "xy",
        nb::sig("def meshgrid(*arrays: array, sparse: bool = False, indexing: str = 'xy', "
                EMBER_STREAM_PARAM ") -> list[array]"),
        "Coordinate grids from 1-D coordinate arrays (numpy.meshgrid).\n\n"
        "Args:\n    *arrays: The coordinates along each dimension.\n"
        "    sparse: Return broadcastable arrays instead of full grids.\n"
        "    indexing: \"xy\" (Cartesian) or \"ij\" (matrix).\n\nReturns:\n    A list of arrays.");
  def_op(m, "diff", [](ArrayArg a, int n, AxisArg axis) {
    return diff(to_array(a), n, to_axis("diff", axis));
  },
        "a"_a, "n"_a = 1, "axis"_a = -1,
        "The n-th discrete difference along axis (a[1:] - a[:-1], n times).\n\n"
        "Args:\n    a: Input array.\n    n: How many times to difference.\n    axis: The axis.\n\n"
        "Returns:\n    An array shorter by n along axis.");
  def_op(m, "as_strided", [](ArrayArg a, ShapeArg shape, IntsArg strides, int64_t offset) {
    array x = to_array(a);
    Shape s = shape.is_none() ? x.shape() : to_ints(shape);
    std::optional<Strides> st;
    if (!strides.is_none()) st = to_ints(strides);
    return as_strided(x, s, st, offset);
  }, "a"_a, "shape"_a = nb::none(), "strides"_a = nb::none(), "offset"_a = 0,
        "Reads a's row-major elements with a new shape and strides (in elements).\n\n"
        "Every position must lie inside a: a ValueError otherwise, never a read out of "
        "bounds. The result is a gather (a copy), so it is differentiable.\n\n"
        "Args:\n    a: Input array.\n    shape: The result's shape (a's when None).\n"
        "    strides: Element strides (row-major strides of shape when None).\n"
        "    offset: Index of the first element.\n\nReturns:\n    The strided array.");
  def_op(m, "contiguous", [](ArrayArg a, bool allow_col_major) {
    return contiguous(to_array(a), allow_col_major);
  }, "a"_a, "allow_col_major"_a = false,
        "A row-contiguous copy of a.\n\n"
        "Args:\n    a: Input array.\n    allow_col_major: Accepted for MLX compatibility.\n\n"
        "Returns:\n    The contiguous array.");
  def_op(m, "slice", [](ArrayArg a, ArrayArg start, IntsArg axes, ShapeArg size) {
    std::vector<int> ax = to_int_axes(axes);
    return slice(to_array(a), to_array(start), ax, to_ints(size));
  }, "a"_a, "start_indices"_a, "axes"_a, "slice_size"_a,
        "A window of a whose start is an array (known only when evaluated).\n\n"
        "Args:\n    a: Input array.\n    start_indices: Integer array, one start per axis "
        "(clamped so the window fits).\n    axes: The sliced axes.\n"
        "    slice_size: The window's size along each of them.\n\nReturns:\n    The window.");
  def_op(m, "slice_update", [](ArrayArg a, ArrayArg update, ArrayArg start, IntsArg axes) {
    array x = to_array(a);
    std::vector<int> ax = to_int_axes(axes);
    return slice_update(x, to_array(update, std::nullopt, &x), to_array(start), ax);
  }, "a"_a, "update"_a, "start_indices"_a, "axes"_a,
        "A copy of a with update written at a start given as an array.\n\n"
        "Args:\n    a: Input array.\n    update: The values (shaped like the window).\n"
        "    start_indices: Integer array, one start per axis (clamped).\n"
        "    axes: The axes start_indices refer to.\n\nReturns:\n    The updated array.");
  def_op(m, "depends", [](ArrayOrArraysArg inputs, ArrayOrArraysArg deps)
                           -> TypedObject<arg_type::ArrayOrList> {
    bool single = nb::isinstance<array>(inputs);
    std::vector<array> xs = single ? std::vector<array>{nb::cast<array>(inputs)}
                                   : to_array_list(inputs);
    std::vector<array> ds = nb::isinstance<array>(deps) ? std::vector<array>{nb::cast<array>(deps)}
                                                        : to_array_list(deps);
    auto out = depends(xs, ds);
    if (single) return nb::cast(out[0]);
    nb::list l;
    for (auto& x : out) l.append(nb::cast(x));
    return std::move(l);
  }, "inputs"_a, "dependencies"_a,
        "The inputs, unchanged, such that evaluating them evaluates the dependencies too.\n\n"
        "Args:\n    inputs: An array or a list of arrays.\n"
        "    dependencies: An array or a list of arrays.\n\n"
        "Returns:\n    The inputs (an array or a list, as given).");
  def_op(m, "view", [](ArrayArg a, Dtype dtype) { return view(to_array(a), dtype); },
        "a"_a, "dtype"_a,
        "The bytes of a read as another dtype (the last axis scales by the item-size ratio).\n\n"
        "Args:\n    a: Input array.\n    dtype: The dtype to read the bytes as.\n\n"
        "Returns:\n    The reinterpreted array.");
  method("view", [](const array& a, Dtype dtype) { return view(a, dtype); }, "dtype"_a,
         "The bytes of the array read as another dtype.");
  cls.attr("mT") = nb::module_::import_("builtins").attr("property")(nb::cpp_function(
      [](const array& a) { return swapaxes(a, -1, -2); }, nb::is_method(),
      "The array with its last two axes swapped."));
  m.def("broadcast_shapes", [](nb::args shapes) {
    if (shapes.size() == 0) throw std::invalid_argument("[broadcast_shapes] No shapes given.");
    Shape out = to_ints(shapes[0]);
    for (size_t i = 1; i < shapes.size(); ++i) {
      out = broadcast_shapes("broadcast_shapes", out, to_ints(shapes[i]));
    }
    nb::list l;
    for (int64_t d : out) l.append(d);
    return nb::tuple(l);
  }, nb::sig("def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]"),
        "The shape that the given shapes broadcast to (numpy rules).\n\n"
        "Args:\n    *shapes: Shapes (sequences of ints).\n\nReturns:\n    A tuple.");

  // Internal: basic slicing with slice.indices-style bounds, for tests and indexing.
  def_op(m, "_slice", [](const array& a, std::vector<int64_t> start, std::vector<int64_t> stop,
                     std::vector<int64_t> step) { return slice(a, start, stop, step); },
        "a"_a, "start"_a, "stop"_a, "step"_a);
  def_op(m, "_slice_update", [](const array& a, ArrayArg update, std::vector<int64_t> start,
                            std::vector<int64_t> stop, std::vector<int64_t> step) {
    return slice_update(a, to_array(update, std::nullopt, &a), start, stop, step);
  }, "a"_a, "update"_a, "start"_a, "stop"_a, "step"_a);
}
