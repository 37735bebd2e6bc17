// The array class, dtypes, eval, and memory controls.
#include <nanobind/stl/pair.h>
#include <nanobind/stl/tuple.h>

#include "bindings.h"
#include "convert.h"
#include "ember/errors.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

void init_dtype(nb::module_& m) {
  auto dt = nb::enum_<Dtype>(m, "Dtype", "An array's element type, e.g. ember.core.float32.")
                .def_prop_ro("size", [](Dtype t) { return size_of(t); }, "Size of one element in bytes.")
                .def("__repr__", [](Dtype t) { return std::string("ember.core.") + dtype_name(t); })
                .def("__str__", [](Dtype t) { return std::string(dtype_name(t)); })
;
  for (int i = 0; i < kNumDtypes; ++i) {
    Dtype t = static_cast<Dtype>(i);
    std::string name = dtype_name(t);
    dt.value(name == "bool" ? "bool_" : name.c_str(), t);
  }
  for (int i = 0; i < kNumDtypes; ++i) {
    Dtype t = static_cast<Dtype>(i);
    std::string name = dtype_name(t);
    m.attr(name == "bool" ? "bool_" : name.c_str()) = nb::cast(t);
  }
  // Kind objects for issubdtype-like checks are plain strings for now.
  m.def("promote_types", &promote_types, "a"_a, "b"_a,
        "The dtype that holds values of both a and b (numpy-like promotion).");
}

namespace {

// Binary operator with weak typing of Python scalars; NotImplemented for
// operands we cannot convert so Python can try the reflected operation.
template <typename F>
nb::object binop(nb::handle a, nb::handle b, F f) {
  if (!nb::isinstance<array>(b) && !is_python_scalar(b) && !nb::isinstance<nb::list>(b) &&
      !nb::isinstance<nb::tuple>(b) && !PyObject_CheckBuffer(b.ptr()) && !nb::hasattr(b, "__array__")) {
    return nb::borrow(Py_NotImplemented);
  }
  auto [x, y] = to_arrays(a, b);
  return nb::cast(f(x, y));
}

std::string format_array(const array& a) {
  nb::object repr = nb::module_::import_("ember._repr").attr("format_array");
  return nb::cast<std::string>(repr(nb::cast(a)));
}

}  // namespace

void init_array(nb::module_& m) {
  auto cls = nb::class_<array>(m, "array", "An N-dimensional array, computed lazily.");
  // numpy arrays and scalars defer to ember's reflected operators (np_array + x is an
  // ember array) instead of converting x to numpy.
  cls.attr("__array_priority__") = 100;
  cls
      .def("__init__",
           [](array* self, nb::handle val, std::optional<Dtype> dtype) {
             new (self) array(to_array(val, dtype));
           },
           "val"_a.none(), "dtype"_a = nb::none(),
           "Creates an array from a scalar, a (nested) list or tuple, a list of arrays, or any\n"
           "object with the buffer protocol (numpy arrays). Python ints become int32, floats\n"
           "float32; numpy arrays keep their dtype.")
      .def_prop_ro("shape", [](const array& a) {
        nb::list l;
        for (auto d : a.shape()) l.append(d);
        return nb::tuple(l);
      }, "The size of each dimension, as a tuple.")
      .def_prop_ro("ndim", &array::ndim, "Number of dimensions.")
      .def_prop_ro("size", &array::size, "Number of elements.")
      .def_prop_ro("dtype", &array::dtype, "The element type.")
      .def_prop_ro("itemsize", &array::itemsize, "Bytes per element.")
      .def_prop_ro("nbytes", &array::nbytes, "Bytes of all elements.")
      .def_prop_ro("T", [](const array& a) { return transpose(a); }, "The array with axes reversed.")
      .def("item", [](const array& a) { return to_scalar(a); }, "The value of a 1-element array as a Python scalar.")
      .def("tolist", [](const array& a) { return to_list(a); }, "The values as nested Python lists.")
      .def("astype", [](const array& a, Dtype t) { return astype(a, t); }, "dtype"_a,
           "A copy converted to dtype.")
      .def("__array__", [](const array& a, nb::handle dtype, nb::handle copy) {
             // numpy 2's protocol: copy=True always copies, copy=False must not copy
             // (ValueError when it has to: a dtype change, or bfloat16, which numpy
             // sees as float32), None copies only when needed.
             nb::object r = to_numpy(a);
             bool converted = a.dtype() == Dtype::bfloat16;
             if (!dtype.is_none()) {
               nb::object want = nb::module_::import_("numpy").attr("dtype")(dtype);
               if (!r.attr("dtype").equal(want)) {
                 r = r.attr("astype")(want);
                 converted = true;
               }
             }
             if (!copy.is_none() && !PyObject_IsTrue(copy.ptr()) && converted) {
               throw std::invalid_argument(
                   "[array] Unable to avoid a copy while converting to numpy with copy=False.");
             }
             if (!copy.is_none() && PyObject_IsTrue(copy.ptr()) && !converted) r = r.attr("copy")();
             return r;
           }, "dtype"_a = nb::none(), "copy"_a = nb::none(),
           "A numpy array of the values: a read-only view without copy when possible.")
      .def("__len__", [](const array& a) {
        if (a.ndim() == 0) throw nb::type_error("len() of a 0-d array");
        return a.shape(0);
      })
      .def("__bool__", [](const array& a) {
        if (a.size() != 1) {
          throw std::invalid_argument(msg(
              "[array] The truth value of an array with more than one element is ambiguous "
              "(shape ", a.shape(), "). Use mx.any() or mx.all()."));
        }
        return bool(PyObject_IsTrue(to_scalar(a).ptr()));
      })
      .def("__int__", [](const array& a) { return nb::int_(to_scalar(a)); })
      .def("__float__", [](const array& a) { return nb::float_(to_scalar(a)); })
      .def("__index__", [](const array& a) {
        if (!is_integral(a.dtype()) && a.dtype() != Dtype::bool_) {
          throw nb::type_error("Only integer arrays can be used as an index.");
        }
        return nb::int_(to_scalar(a));
      })
      .def("__repr__", [](const array& a) { return format_array(a); })
      .def("__format__", [](const array& a, nb::handle spec) {
        if (a.ndim() == 0) return nb::cast<std::string>(to_scalar(a).attr("__format__")(spec));
        if (nb::len(spec) > 0) {
          throw nb::type_error("unsupported format string passed to ember.core.array.__format__");
        }
        return format_array(a);
      })
      .def("__iter__", [](const array& a) {
        // Iterates over the first axis (lazy views a[0], a[1], ...), as numpy does.
        if (a.ndim() == 0) throw nb::type_error("iteration over a 0-d array");
        nb::list items;
        std::vector<int64_t> start(a.ndim(), 0), stop(a.shape().begin(), a.shape().end()),
            step(a.ndim(), 1);
        for (int64_t i = 0; i < a.shape(0); ++i) {
          start[0] = i;
          stop[0] = i + 1;
          items.append(nb::cast(squeeze(slice(a, start, stop, step), {0})));
        }
        return nb::iter(items);
      })
      .def("__hash__", [](const array& a) { return a.id(); })
      // Pickle state: (dtype name, numpy array); bfloat16 travels as its uint16 bits.
      .def("__getstate__", [](const array& a) {
        return nb::make_tuple(std::string(dtype_name(a.dtype())),
                              to_numpy_bits(a).attr("copy")());
      })
      .def("__setstate__", [](array& a, nb::tuple state) {
        std::string name = nb::cast<std::string>(state[0]);
        array data = to_array(state[1]);
        data.eval();
        Dtype t = Dtype::float32;
        bool found = false;
        for (int i = 0; i < kNumDtypes && !found; ++i) {
          if (name == dtype_name(static_cast<Dtype>(i))) {
            t = static_cast<Dtype>(i);
            found = true;
          }
        }
        if (!found) throw std::invalid_argument("[array] Unknown dtype in pickled state: " + name);
        if (t == Dtype::bfloat16) {
          // data is a row-contiguous uint16 array holding the bits
          new (&a) array(data.raw_data(), data.shape(), Dtype::bfloat16);
        } else {
          new (&a) array(data.astype_now(t));
        }
      })
      .def("__copy__", [](const array& a) { return a; })
      .def("__deepcopy__", [](const array& a, nb::handle) { return a; }, "memo"_a)
      // Operators: Python scalars are weakly typed against the array.
      .def("__add__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return add(x, y); }); }, nb::arg("other").none())
      .def("__radd__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return add(y, x); }); }, nb::arg("other").none())
      .def("__sub__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return subtract(x, y); }); }, nb::arg("other").none())
      .def("__rsub__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return subtract(y, x); }); }, nb::arg("other").none())
      .def("__mul__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return multiply(x, y); }); }, nb::arg("other").none())
      .def("__rmul__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return multiply(y, x); }); }, nb::arg("other").none())
      .def("__truediv__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return divide(x, y); }); }, nb::arg("other").none())
      .def("__rtruediv__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return divide(y, x); }); }, nb::arg("other").none())
      .def("__floordiv__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return floor_divide(x, y); }); }, nb::arg("other").none())
      .def("__rfloordiv__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return floor_divide(y, x); }); }, nb::arg("other").none())
      .def("__mod__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return remainder(x, y); }); }, nb::arg("other").none())
      .def("__rmod__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return remainder(y, x); }); }, nb::arg("other").none())
      .def("__pow__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return power(x, y); }); }, nb::arg("other").none())
      .def("__rpow__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return power(y, x); }); }, nb::arg("other").none())
      .def("__matmul__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return matmul(x, y); }); }, nb::arg("other").none())
      .def("__rmatmul__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return matmul(y, x); }); }, nb::arg("other").none())
      .def("__eq__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return equal(x, y); }); }, nb::arg("other").none())
      .def("__ne__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return not_equal(x, y); }); }, nb::arg("other").none())
      .def("__lt__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return less(x, y); }); }, nb::arg("other").none())
      .def("__le__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return less_equal(x, y); }); }, nb::arg("other").none())
      .def("__gt__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return greater(x, y); }); }, nb::arg("other").none())
      .def("__ge__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return greater_equal(x, y); }); }, nb::arg("other").none())
      .def("__and__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return bitwise_and(x, y); }); }, nb::arg("other").none())
      .def("__rand__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return bitwise_and(y, x); }); }, nb::arg("other").none())
      .def("__or__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return bitwise_or(x, y); }); }, nb::arg("other").none())
      .def("__ror__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return bitwise_or(y, x); }); }, nb::arg("other").none())
      .def("__xor__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return bitwise_xor(x, y); }); }, nb::arg("other").none())
      .def("__rxor__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return bitwise_xor(y, x); }); }, nb::arg("other").none())
      .def("__lshift__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return left_shift(x, y); }); }, nb::arg("other").none())
      .def("__rshift__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return right_shift(x, y); }); }, nb::arg("other").none())
      .def("__rlshift__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return left_shift(y, x); }); }, nb::arg("other").none())
      .def("__rrshift__", [](nb::handle a, nb::handle b) { return binop(a, b, [](auto x, auto y) { return right_shift(y, x); }); }, nb::arg("other").none())
      .def("__neg__", [](const array& a) { return negative(a); })
      .def("__pos__", [](const array& a) { return a; })
      .def("__abs__", [](const array& a) { return abs(a); })
      .def("__invert__", [](const array& a) {
        return a.dtype() == Dtype::bool_ ? logical_not(a) : bitwise_invert(a);
      });

  m.def("eval", [](nb::args args) {
        std::vector<array> outs;
        nb::object flatten = nb::module_::import_("ember.utils").attr("tree_flatten");
        for (auto a : args) {
          nb::list leaves = nb::cast<nb::list>(flatten(a)[0]);
          for (auto l : leaves) {
            if (nb::isinstance<array>(l)) outs.push_back(nb::cast<array>(l));
          }
        }
        without_gil([&] { eval(outs); });
      },
      "Computes the given arrays (or trees of arrays: lists, tuples, dicts) now.");
}

void init_memory(nb::module_& m) {
  m.def("get_active_memory", &get_active_memory, "Bytes held by live arrays.");
  m.def("get_peak_memory", &get_peak_memory, "Highest active memory since start or reset.");
  m.def("reset_peak_memory", &reset_peak_memory, "Sets the peak to the current active memory.");
  m.def("get_cache_memory", &get_cache_memory, "Bytes of freed buffers kept for reuse.");
  m.def("clear_cache", &clear_cache, "Frees the buffers kept for reuse.");
  m.def("set_cache_limit", &set_cache_limit, "limit"_a, "Caps the reuse cache (bytes); returns the old cap.");
  m.def("get_num_threads", &get_num_threads, "Threads used by ember's kernels.");
  m.def("set_num_threads", &set_num_threads, "n"_a, "Sets ember's kernel threads and BLAS threads.");
}
