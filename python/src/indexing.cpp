// array.__getitem__ / __setitem__ with numpy's rules: ints, slices, None,
// Ellipsis, integer arrays (advanced indexing) and boolean masks. Basic
// indexing is a slice view plus a reshape; advanced indexing is a gather; an
// assignment rebinds the Python object to slice_update / scatter of the old value.
#include <string>

#include "bindings.h"
#include "convert.h"
#include "ember/errors.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

enum class Kind { Int, Slice, NewAxis, Ellipsis, Array, Mask };

// One entry of an index. After resolve(), every item but NewAxis stands for
// exactly one axis of the indexed array, and slices hold normalized bounds.
struct Item {
  Kind kind;
  int64_t value = 0;  // Int: the index, made non-negative by resolve()
  nb::object slice;   // Slice, before resolve()
  int64_t start = 0, stop = 0, step = 1, len = 0;  // Slice, after resolve()
  array arr;          // Array (integer) or Mask (bool)
};

bool is_full(const Item& it, int64_t dim) {
  return it.kind == Kind::Slice && it.start == 0 && it.step == 1 && it.len == dim;
}

Item from_array(const array& arr) {
  if (arr.dtype() == Dtype::bool_) {
    if (arr.ndim() == 0) {
      throw std::out_of_range("[index] Boolean scalar indices are not supported; use a boolean "
                              "array with at least one dimension.");
    }
    return {Kind::Mask, 0, {}, 0, 0, 1, 0, arr};
  }
  if (!is_integral(arr.dtype())) {
    throw std::out_of_range(msg("[index] Arrays used as indices must be of integer or boolean "
                                "type, got ", dtype_name(arr.dtype()), "."));
  }
  return {Kind::Array, 0, {}, 0, 0, 1, 0, arr};
}

Item parse_one(nb::handle h) {
  if (h.is_none()) return {Kind::NewAxis};
  if (h.ptr() == Py_Ellipsis) return {Kind::Ellipsis};
  if (PySlice_Check(h.ptr())) return {Kind::Slice, 0, nb::borrow<nb::object>(h)};
  if (PyBool_Check(h.ptr())) {
    throw std::out_of_range("[index] Boolean scalar indices are not supported; use a boolean "
                            "array with at least one dimension.");
  }
  if (PyLong_Check(h.ptr())) {
    int64_t v;
    if (!nb::try_cast<int64_t>(h, v)) {
      throw std::out_of_range("[index] Index is too large for a 64-bit integer.");
    }
    return {Kind::Int, v};
  }
  // ember arrays stay lazy (a 0-d one acts as an int, as in numpy).
  if (nb::isinstance<array>(h)) return from_array(nb::cast<array>(h));
  if (nb::isinstance<nb::list>(h) || nb::isinstance<nb::tuple>(h)) {
    array arr = to_array(h);
    // [] converts to float32; as an index it is an empty integer list (numpy).
    if (arr.size() == 0 && !is_integral(arr.dtype()) && arr.dtype() != Dtype::bool_) {
      arr = astype(arr, Dtype::int32);
    }
    return from_array(arr);
  }
  if (PyObject_CheckBuffer(h.ptr()) || nb::hasattr(h, "__array__")) {
    // numpy arrays and scalars: their values are known, so 0-d integers become ints.
    array arr = to_array(h);
    if (arr.ndim() == 0 && is_integral(arr.dtype())) return {Kind::Int, arr.item<int64_t>()};
    return from_array(arr);
  }
  if (PyIndex_Check(h.ptr())) {
    PyObject* i = PyNumber_Index(h.ptr());
    if (!i) throw nb::python_error();
    int64_t v;
    if (!nb::try_cast<int64_t>(nb::steal(i), v)) {
      throw std::out_of_range("[index] Index is too large for a 64-bit integer.");
    }
    return {Kind::Int, v};
  }
  throw std::out_of_range(msg("[index] Only integers, slices (':'), ellipsis ('...'), None and "
                              "integer or boolean arrays are valid indices, got ",
                              nb::type_name(h.type()).c_str(), "."));
}

// Parses the index and expands it so that each non-NewAxis item indexes one
// axis of a, in order: the ellipsis becomes full slices, trailing axes get
// full slices, masks become one integer array per axis they cover.
std::vector<Item> resolve(const array& a, nb::handle index) {
  std::vector<Item> raw;
  if (nb::isinstance<nb::tuple>(index)) {
    for (nb::handle h : index) raw.push_back(parse_one(h));
  } else {
    raw.push_back(parse_one(index));
  }
  int consumed = 0, ellipses = 0;
  for (auto& it : raw) {
    if (it.kind == Kind::Ellipsis) ++ellipses;
    else if (it.kind == Kind::Mask) consumed += it.arr.ndim();
    else if (it.kind != Kind::NewAxis) ++consumed;
  }
  if (ellipses > 1) {
    throw std::out_of_range("[index] An index can only have a single ellipsis ('...').");
  }
  if (consumed > a.ndim()) {
    throw std::out_of_range(msg("[index] Too many indices for array: array is ", a.ndim(),
                                "-dimensional, but ", consumed, " were indexed."));
  }
  std::vector<Item> items;
  int axis = 0;
  auto full = [&](int ax) {
    Item it{Kind::Slice};
    it.start = 0;
    it.stop = it.len = a.shape(ax);
    it.step = 1;
    return it;
  };
  for (auto& it : raw) {
    switch (it.kind) {
      case Kind::NewAxis: items.push_back(it); break;
      case Kind::Ellipsis:
        for (int i = 0; i < a.ndim() - consumed; ++i) items.push_back(full(axis++));
        break;
      case Kind::Int: {
        int64_t dim = a.shape(axis);
        if (it.value < -dim || it.value >= dim) {
          throw std::out_of_range(msg("[index] Index ", it.value, " is out of bounds for axis ",
                                      axis, " with size ", dim, "."));
        }
        Item r = it;
        if (r.value < 0) r.value += dim;
        items.push_back(r);
        ++axis;
        break;
      }
      case Kind::Slice: {
        Py_ssize_t start, stop, step;
        if (PySlice_Unpack(it.slice.ptr(), &start, &stop, &step) < 0) throw nb::python_error();
        Item r{Kind::Slice};
        r.len = PySlice_AdjustIndices(Py_ssize_t(a.shape(axis)), &start, &stop, step);
        r.start = start;
        r.stop = stop;
        r.step = step;
        items.push_back(r);
        ++axis;
        break;
      }
      case Kind::Array: items.push_back(it); ++axis; break;
      case Kind::Mask: {
        const array& mask = it.arr;
        for (int d = 0; d < mask.ndim(); ++d) {
          if (mask.shape(d) != a.shape(axis + d)) {
            throw std::out_of_range(msg("[index] Boolean index of shape ", mask.shape(),
                                        " does not match the indexed array (shape ", a.shape(),
                                        ") along axis ", axis + d, ": size ", a.shape(axis + d),
                                        " but the mask has ", mask.shape(d), "."));
          }
        }
        // The output size depends on the mask's values, so it is evaluated here.
        std::vector<array> coords = without_gil([&] { return nonzero(mask); });
        for (auto& c : coords) items.push_back({Kind::Array, 0, {}, 0, 0, 1, 0, c});
        axis += mask.ndim();
        break;
      }
    }
  }
  while (axis < a.ndim()) items.push_back(full(axis++));
  return items;
}

bool has_arrays(const std::vector<Item>& items) {
  for (auto& it : items) {
    if (it.kind == Kind::Array) return true;
  }
  return false;
}

// With advanced indices, numpy treats ints as 0-d index arrays too (that
// decides where the broadcast dims go: x[0, :, [1, 2]] has shape (2, n)).
void ints_to_arrays(std::vector<Item>& items) {
  for (auto& it : items) {
    if (it.kind == Kind::Int) {
      it.arr = array(it.value);
      it.kind = Kind::Array;
    }
  }
}

// The window a basic index selects: an int is a length-1 slice; arrays take
// their axis whole.
void window(const array& a, const std::vector<Item>& items, std::vector<int64_t>& start,
            std::vector<int64_t>& stop, std::vector<int64_t>& step) {
  int axis = 0;
  for (auto& it : items) {
    if (it.kind == Kind::NewAxis) continue;
    if (it.kind == Kind::Int) {
      start.push_back(it.value);
      stop.push_back(it.value + 1);
      step.push_back(1);
    } else if (it.kind == Kind::Slice) {
      start.push_back(it.start);
      stop.push_back(it.stop);
      step.push_back(it.step);
    } else {
      start.push_back(0);
      stop.push_back(a.shape(axis));
      step.push_back(1);
    }
    ++axis;
  }
}

// Where advanced indexing puts things: the broadcast index shape, and whether
// the index arrays are adjacent (then their dims replace them in place; if not,
// they go first, as numpy does).
struct Advanced {
  Shape shape;
  bool adjacent = true;
  int before = 0;  // slices before the first index array (where the dims go if adjacent)
};

Advanced advanced_layout(const std::vector<Item>& items) {
  Advanced adv;
  int first = -1, last = -1, slices = 0;
  bool first_seen = false;
  for (int i = 0; i < int(items.size()); ++i) {
    if (items[i].kind == Kind::Array) {
      if (!first_seen) {
        first = i;
        adv.before = slices;
        adv.shape = items[i].arr.shape();
        first_seen = true;
      } else {
        adv.shape = broadcast_shapes("index", adv.shape, items[i].arr.shape());
      }
      last = i;
    } else if (items[i].kind == Kind::Slice) {
      ++slices;
    }
  }
  for (int i = first; i <= last; ++i) adv.adjacent &= items[i].kind == Kind::Array;
  return adv;
}

// The shape x[index] has: with `with_new_axes` false, NewAxis dims are left out.
Shape result_shape(const std::vector<Item>& items, const Advanced* adv, bool with_new_axes) {
  Shape out;
  bool placed = false;
  if (adv && !adv->adjacent) {
    out = adv->shape;
    placed = true;
  }
  for (auto& it : items) {
    if (it.kind == Kind::Slice) out.push_back(it.len);
    else if (it.kind == Kind::NewAxis && with_new_axes) out.push_back(1);
    else if (it.kind == Kind::Array && !placed) {
      out.insert(out.end(), adv->shape.begin(), adv->shape.end());
      placed = true;
    }
  }
  return out;
}

array getitem(const array& a, nb::handle index) {
  std::vector<Item> items = resolve(a, index);
  std::vector<int64_t> start, stop, step;
  if (!has_arrays(items)) {
    window(a, items, start, stop, step);
    array b = a.ndim() > 0 ? slice(a, start, stop, step) : a;
    return reshape(b, result_shape(items, nullptr, true));
  }
  ints_to_arrays(items);
  Advanced adv = advanced_layout(items);
  window(a, items, start, stop, step);
  array b = slice(a, start, stop, step);
  std::vector<array> arrays;
  std::vector<int> axes;
  int axis = 0;
  for (auto& it : items) {
    if (it.kind == Kind::NewAxis) continue;
    if (it.kind == Kind::Array) {
      arrays.push_back(it.arr);
      axes.push_back(axis);
    }
    ++axis;
  }
  // gather gives broadcast dims first, then the sliced axes in order.
  array g = gather(b, arrays, axes);
  int m = int(adv.shape.size());
  if (adv.adjacent && adv.before > 0) {
    std::vector<int> perm;
    for (int i = 0; i < adv.before; ++i) perm.push_back(m + i);
    for (int i = 0; i < m; ++i) perm.push_back(i);
    for (int i = m + adv.before; i < g.ndim(); ++i) perm.push_back(i);
    g = transpose(g, perm);
  }
  return reshape(g, result_shape(items, &adv, true));
}

// value, with its shape checked against target (numpy broadcasting, leading
// size-1 dims beyond target's rank dropped), given target's rank.
array aligned_value(const array& value, const Shape& target) {
  array v = value;
  while (v.ndim() > int(target.size()) && v.shape(0) == 1) v = squeeze(v, {0});
  bool ok = v.ndim() <= int(target.size());
  for (int i = 1; ok && i <= v.ndim(); ++i) {
    int64_t d = v.shape(v.ndim() - i);
    ok = d == 1 || d == target[target.size() - i];
  }
  if (!ok) {
    throw std::invalid_argument(msg("[index] Cannot assign a value of shape ", value.shape(),
                                    " to an indexed result of shape ", target, "."));
  }
  Shape s(target.size() - v.ndim(), 1);
  s.insert(s.end(), v.shape().begin(), v.shape().end());
  return reshape(v, s);
}

// How an update combines with the window a basic index selects (no index
// repeats there, so this is elementwise).
array combine(const array& old, const array& v, ScatterMode mode) {
  switch (mode) {
    case ScatterMode::add: return add(old, v);
    case ScatterMode::prod: return multiply(old, v);
    case ScatterMode::max: return maximum(old, v);
    case ScatterMode::min: return minimum(old, v);
    default: return v;
  }
}

// a with value combined in at index: written (__setitem__) or accumulated
// (array.at[index].add / multiply / maximum / minimum).
array update_at(const array& a, nb::handle index, const array& value, ScatterMode mode) {
  std::vector<Item> items = resolve(a, index);
  array v = astype(value, a.dtype());
  std::vector<int64_t> start, stop, step;
  if (!has_arrays(items)) {
    array full = aligned_value(v, result_shape(items, nullptr, true));
    // Same values laid out as the window: drop NewAxis dims, give ints a size-1 dim.
    Shape w;
    int r = 0;
    for (auto& it : items) {
      if (it.kind == Kind::Int) w.push_back(1);
      else if (it.kind == Kind::Slice) w.push_back(full.shape(r++));
      else ++r;
    }
    window(a, items, start, stop, step);
    array u = reshape(full, w);
    if (mode != ScatterMode::write) u = combine(slice(a, start, stop, step), u, mode);
    return slice_update(a, u, start, stop, step);
  }
  ints_to_arrays(items);
  Advanced adv = advanced_layout(items);
  array full = aligned_value(v, result_shape(items, &adv, true));
  Shape r_shape = result_shape(items, &adv, false);
  array u = reshape(full, [&] {
    // Drop the NewAxis dims (size 1) of the aligned value.
    Shape s;
    int r = 0;
    bool placed = !adv.adjacent;
    if (placed) {
      for (size_t i = 0; i < adv.shape.size(); ++i) s.push_back(full.shape(r++));
    }
    for (auto& it : items) {
      if (it.kind == Kind::NewAxis) {
        ++r;
      } else if (it.kind == Kind::Slice) {
        s.push_back(full.shape(r++));
      } else if (!placed) {
        for (size_t i = 0; i < adv.shape.size(); ++i) s.push_back(full.shape(r++));
        placed = true;
      }
    }
    return s;
  }());
  // Every axis up to the last non-trivial one gets an index array laid out in
  // the result's dims (a slice becomes an arange); trailing whole axes stay
  // whole, so the scatter moves them as slices.
  std::vector<Item> axis_items;
  for (auto& it : items) {
    if (it.kind != Kind::NewAxis) axis_items.push_back(it);
  }
  int t = int(axis_items.size());
  while (t > 0 && is_full(axis_items[t - 1], a.shape(t - 1))) --t;
  int lead = int(r_shape.size()) - (a.ndim() - t);
  int m = int(adv.shape.size());
  int block = adv.adjacent ? adv.before : 0;
  int pos = adv.adjacent ? 0 : m;
  std::vector<array> indices;
  for (int j = 0; j < t; ++j) {
    const Item& it = axis_items[j];
    if (it.kind == Kind::Array) {
      Shape s(block, 1);
      for (int i = 0; i < m - it.arr.ndim(); ++i) s.push_back(1);
      s.insert(s.end(), it.arr.shape().begin(), it.arr.shape().end());
      s.resize(lead, 1);
      indices.push_back(reshape(it.arr, s));
      if (adv.adjacent && (j + 1 == t || axis_items[j + 1].kind != Kind::Array)) pos += m;
    } else {
      Shape s(lead, 1);
      s[pos++] = it.len;
      array r = arange(double(it.start), double(it.start + it.len * it.step), double(it.step),
                       Dtype::int64);
      indices.push_back(reshape(r, s));
    }
  }
  return scatter(a, indices, u, mode);
}

array setitem(const array& a, nb::handle index, nb::handle value) {
  return update_at(a, index, to_array(value, std::nullopt, &a), ScatterMode::write);
}

// array.at[index]: holds the array and (after []) the index; each method
// returns the updated array, with repeated indices accumulating.
struct ArrayAt {
  array a;
  nb::object index;
};

array at_update(const ArrayAt& at, nb::handle value, ScatterMode mode, bool negate = false,
                bool invert = false) {
  if (!at.index.is_valid()) {
    throw std::invalid_argument("[at] Index the array first: x.at[idx].add(y).");
  }
  array v = to_array(value, std::nullopt, &at.a);
  if (negate) v = negative(v);
  if (invert) {
    if (!is_inexact(at.a.dtype())) {
      throw type_error(msg("[at] divide needs a floating-point array, got ",
                           dtype_name(at.a.dtype()), "."));
    }
    v = reciprocal(astype(v, at.a.dtype()));
  }
  return update_at(at.a, at.index, v, mode);
}

}  // namespace

void init_indexing(nb::module_& m) {
  nb::handle cls = nb::type<array>();
  nb::class_<ArrayAt>(m, "ArrayAt",
                      "The helper behind array.at[idx]: out-of-place updates in which "
                      "repeated indices accumulate.")
      .def("__getitem__", [](const ArrayAt& at, IndexArg index) {
        return ArrayAt{at.a, nb::borrow(index)};
      }, "index"_a.none())
      .def("add", [](const ArrayAt& at, ArrayArg v) { return at_update(at, v, ScatterMode::add); },
           "value"_a, "a with value added at the index (repeated indices add up).")
      .def("subtract", [](const ArrayAt& at, ArrayArg v) {
        return at_update(at, v, ScatterMode::add, true);
      }, "value"_a, "a with value subtracted at the index (repeated indices add up).")
      .def("multiply", [](const ArrayAt& at, ArrayArg v) {
        return at_update(at, v, ScatterMode::prod);
      }, "value"_a, "a multiplied by value at the index (repeated indices multiply).")
      .def("divide", [](const ArrayAt& at, ArrayArg v) {
        return at_update(at, v, ScatterMode::prod, false, true);
      }, "value"_a, "a divided by value at the index (floating-point arrays).")
      .def("maximum", [](const ArrayAt& at, ArrayArg v) {
        return at_update(at, v, ScatterMode::max);
      }, "value"_a, "The maximum of a and value at the index (over all repeats).")
      .def("minimum", [](const ArrayAt& at, ArrayArg v) {
        return at_update(at, v, ScatterMode::min);
      }, "value"_a, "The minimum of a and value at the index (over all repeats).");
  nb::setattr(cls, "at", nb::module_::import_("builtins").attr("property")(nb::cpp_function(
      [](const array& a) { return ArrayAt{a, nb::object()}; }, nb::is_method(),
      "Out-of-place updates: x.at[idx].add(y), .subtract, .multiply, .divide, .maximum, "
      ".minimum; repeated indices accumulate (unlike x[idx] = y).")));
  nb::cpp_function_def(
      [](const array& a, IndexArg index) { return getitem(a, index); }, nb::scope(cls),
      nb::name("__getitem__"), nb::is_method(), "index"_a.none(),
      "Indexes like numpy: ints, slices, None, ..., integer arrays and boolean masks.\n\n"
      "Basic indices (ints, slices, None, ...) give views; integer arrays gather (the\n"
      "broadcast index dims replace adjacent index arrays in place, else they go first);\n"
      "a boolean mask is evaluated and acts as the integer arrays of its nonzero entries.");
  nb::cpp_function_def(
      [](array& a, IndexArg index, ArrayArg value) { a = setitem(a, index, value); },
      nb::scope(cls), nb::name("__setitem__"), nb::is_method(), "index"_a.none(), "value"_a.none(),
      "Assigns value (broadcast, cast to the array's dtype) at index.\n\n"
      "Arrays are immutable values: the Python object is rebound to a new lazy array\n"
      "holding the update; other references to the old array keep the old values.\n"
      "With repeated integer indices, the last assignment wins.");
}
