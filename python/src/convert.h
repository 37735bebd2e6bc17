// Conversions between Python values and ember arrays: scalars (weakly typed),
// nested lists, numpy / buffer-protocol objects, and back to numpy and Python.
#pragma once

#include "dtype_caster.h"
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <optional>

#include "ember/ember.h"

namespace nb = nanobind;

namespace ember::py {

/// Any Python value an op accepts as an array: array, scalar, list, numpy.
/// `like` gives a Python scalar its weak type: an int joins like's dtype
/// (unless like is bool), a float joins like's dtype when it is inexact.
array to_array(nb::handle obj, std::optional<Dtype> dtype = std::nullopt,
               const array* like = nullptr);
/// Converts two operands of a binary op, typing scalars weakly against the other.
std::pair<array, array> to_arrays(nb::handle a, nb::handle b);
bool is_python_scalar(nb::handle obj);

/// A zero-copy read-only numpy view of an evaluated array (bfloat16 is
/// converted to float32 since numpy has no bfloat16).
nb::object to_numpy(array a);
/// Like to_numpy, but bfloat16 comes as a uint16 view of its bits (for pickling).
nb::object to_numpy_bits(array a);
/// Python scalar for a 1-element array.
nb::object to_scalar(array a);
/// Nested Python lists.
nb::object to_list(array a);

/// An int axis from Python; beyond C int, an IndexError (not an overflow or a cast error).
int to_int_axis(nb::handle axis);
/// The axis argument of `op` (bound as AxisArg): an int, converted as to_int_axis; anything
/// else (None, a float, a str) is a TypeError naming the op.
int to_axis(const char* op, nb::handle axis);
/// The same, where None means "no axis" (the flattened array).
std::optional<int> to_opt_axis(const char* op, nb::handle axis);
/// A shape argument: an int or a list / tuple of ints. Anything else (None, floats) is a
/// TypeError saying what was given; an int beyond int64 a ValueError. Sizes are checked in C++.
Shape to_shape_arg(nb::handle shape);
/// Appends the arrays among the leaves of a tree of lists, tuples and dicts.
void collect_arrays(nb::handle tree, std::vector<array>& out);

/// axis=None | int | sequence of ints, as the reduce family takes it.
std::optional<std::vector<int>> to_axes(nb::handle axis);

/// Runs f with the GIL released (for eval and kernels).
template <typename F>
auto without_gil(F&& f) {
  nb::gil_scoped_release release;
  return f();
}

}  // namespace ember::py
