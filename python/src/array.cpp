// The array class, dtypes, eval, and memory controls.
#include <nanobind/stl/pair.h>
#include <nanobind/stl/tuple.h>

#include "bindings.h"
#include "convert.h"
#include "ember/errors.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {
// What iter(array) returns: a cursor over the first axis.
struct ArrayIterator {
  array a;
  int64_t i = 0;
};
struct ArrayLike {
  nb::object obj;
};
}  // namespace

void init_dtype(nb::module_& m) {
  auto dt = nb::enum_<Dtype>(m, "Dtype", "An array's element type, e.g. ember.core.float32.")
                .def_prop_ro("size", [](Dtype t) { return size_of(t); },
                             "Size of one element in bytes.")
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
  auto cat = nb::enum_<DtypeCategory>(m, "DtypeCategory",
                                      "An abstract group of dtypes, for issubdtype.")
                 .def("__repr__", [](DtypeCategory c) {
                   return std::string("ember.core.") + category_name(c);
                 })
                 .def("__str__", [](DtypeCategory c) { return std::string(category_name(c)); });
  for (int i = 0; i <= int(DtypeCategory::complexfloating); ++i) {
    auto c = static_cast<DtypeCategory>(i);
    cat.value(category_name(c), c);
    m.attr(category_name(c)) = nb::cast(c);
  }
  m.def("issubdtype", [](DtypeLikeArg a, DtypeLikeArg b) {
    // Each side is a Dtype or a DtypeCategory (anything else: TypeError, not a bad_cast).
    for (nb::handle h : {a, b}) {
      if (!nb::isinstance<Dtype>(h) && !nb::isinstance<DtypeCategory>(h)) {
        throw nb::type_error((std::string("[issubdtype] Arguments must be dtypes or dtype "
                                          "categories, got ") +
                              nb::type_name(h.type()).c_str() + ".")
                                 .c_str());
      }
    }
    if (nb::isinstance<DtypeCategory>(b)) {
      auto cb = nb::cast<DtypeCategory>(b);
      if (nb::isinstance<DtypeCategory>(a)) return issubdtype(nb::cast<DtypeCategory>(a), cb);
      return issubdtype(nb::cast<Dtype>(a), cb);
    }
    if (nb::isinstance<DtypeCategory>(a)) return false;  // a group is never inside one dtype
    return nb::cast<Dtype>(a) == nb::cast<Dtype>(b);
  }, "arg1"_a, "arg2"_a,
     "Whether arg1 (a dtype or a category) is arg2 or lies inside it, e.g.\n"
     "issubdtype(mx.int8, mx.integer) is True; issubdtype(mx.bool_, mx.number) is False.");
  m.def("promote_types", &promote_types, "a"_a, "b"_a,
        "The dtype that holds values of both a and b (numpy-like promotion).");
}

namespace {

// Binary operator with weak typing of Python scalars; NotImplemented for
// operands we cannot convert so Python can try the reflected operation.
template <typename F>
nb::object binop(nb::handle a, nb::handle b, F f) {
  if (!nb::isinstance<array>(b) && !is_python_scalar(b) && !nb::isinstance<nb::list>(b) &&
      !nb::isinstance<nb::tuple>(b) && !PyObject_CheckBuffer(b.ptr()) &&
      !nb::hasattr(b, "__array__")) {
    return nb::borrow(Py_NotImplemented);
  }
  auto [x, y] = to_arrays(a, b);
  return nb::cast(f(x, y));
}

// Defines the operator `name` and, when `rname` is given, its reflected form
// (operands swapped), both through binop.
// The stubs say that an operator gives an array (NotImplemented, for operands that cannot be
// arrays, is how Python operators decline, as in typeshed's own stubs).
template <typename F>
void def_operator(nb::class_<array>& cls, const char* name, const char* sig, const char* rname,
                  const char* rsig, F f) {
  cls.def(name, [f](ArrayArg a, ArrayArg b) { return binop(a, b, f); },
          nb::arg("other").none(), nb::sig(sig));
  if (*rname) {
    auto swapped = [f](const array& x, const array& y) { return f(y, x); };
    cls.def(rname, [swapped](ArrayArg a, ArrayArg b) { return binop(a, b, swapped); },
            nb::arg("other").none(), nb::sig(rsig));
  }
}

std::string format_array(const array& a) {
  nb::object repr = nb::module_::import_("ember._repr").attr("format_array");
  return nb::cast<std::string>(repr(nb::cast(a)));
}

}  // namespace

// The lambda type astype's method wraps (op_traits needs a named callable type).
struct AstypeFn {
  array operator()(const array& a, Dtype t) const { return astype(a, t); }
};

void init_array(nb::module_& m) {
  nb::class_<ArrayIterator>(m, "ArrayIterator",
                            "Iterates over the first axis of an array (what iter(array) returns).")
      .def("__iter__", [](nb::handle self) { return nb::borrow(self); },
           nb::sig("def __iter__(self) -> ArrayIterator"))
      .def("__next__", [](ArrayIterator& it) {
        const array& a = it.a;
        if (it.i >= a.shape(0)) throw nb::stop_iteration();
        std::vector<int64_t> start(a.ndim(), 0), stop(a.shape().begin(), a.shape().end()),
            step(a.ndim(), 1);
        start[0] = it.i;
        stop[0] = ++it.i;
        return squeeze(slice(a, start, stop, step), {0});
      }, nb::sig("def __next__(self) -> array"));
  // MLX's name for "an object with an __mlx_array__ method"; ops accept such objects
  // directly (convert.cpp), and an ArrayLike wraps one.
  nb::class_<ArrayLike>(m, "ArrayLike",
                        "Any Python object with an __mlx_array__ method that returns an array.")
      .def("__init__", [](ArrayLike* self, nb::handle obj) {
        if (!nb::hasattr(obj, "__mlx_array__")) {
          throw nb::type_error(("[ArrayLike] The object (of type " +
                                std::string(nb::type_name(obj.type()).c_str()) +
                                ") has no __mlx_array__ method.").c_str());
        }
        new (self) ArrayLike{nb::borrow(obj)};
      }, "arg"_a, nb::sig("def __init__(self, arg: object, /) -> None"))
      .def("__mlx_array__", [](const ArrayLike& a) { return to_array(a.obj); },
           nb::sig("def __mlx_array__(self) -> array"), "The wrapped object's array.");
  auto cls = nb::class_<array>(m, "array", "An N-dimensional array, computed lazily.");
  // numpy arrays and scalars defer to ember's reflected operators (np_array + x is an
  // ember array) instead of converting x to numpy.
  cls.attr("__array_priority__") = 100;
  cls
      .def("__init__",
           [](array* self, ArrayArg val, std::optional<Dtype> dtype) {
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
      .def_prop_ro("T", [](const array& a) { return transpose(a); },
                   "The array with axes reversed.")
      .def("item", [](const array& a) { return to_scalar(a); },
           nb::sig("def item(self) -> typing.Any"),
           "The value of a 1-element array as a Python scalar (bool, int, float or complex;\n"
           "typed Any, as numpy's, so that float(a.item()) and arithmetic type-check).")
      .def("tolist", [](const array& a) { return to_list(a); },
           nb::sig("def tolist(self) -> typing.Any"),
           "The values as nested Python lists (a scalar for a 0-d array).")
      .def("astype",
           ember::py::op_detail::op_traits<AstypeFn>::with_stream(AstypeFn{}, "astype"),
           "dtype"_a, nb::kw_only(), "stream"_a = nb::none(), "A copy converted to dtype.")
      .def("__array__", [](const array& a, NumpyDtypeArg dtype, std::optional<bool> copy)
                               -> TypedObject<arg_type::NumpyArray> {
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
             if (copy && !*copy && converted) {
               throw std::invalid_argument(
                   "[array] Unable to avoid a copy while converting to numpy with copy=False.");
             }
             if (copy && *copy && !converted) r = r.attr("copy")();
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
      .def("__format__", [](const array& a, StrArg spec) {
        // An empty spec (f"{x}") prints like repr, as mlx; "{x:.3f}" formats a 0-d value.
        if (a.ndim() == 0 && nb::len(spec) > 0) {
          return nb::cast<std::string>(to_scalar(a).attr("__format__")(spec));
        }
        if (nb::len(spec) > 0) {
          throw nb::type_error("unsupported format string passed to ember.core.array.__format__");
        }
        return format_array(a);
      })
      .def("__iter__", [](const array& a) {
        // Iterates over the first axis (lazy views a[0], a[1], ...), as numpy does.
        if (a.ndim() == 0) throw nb::type_error("iteration over a 0-d array");
        return ArrayIterator{a, 0};
      }, nb::sig("def __iter__(self) -> ArrayIterator"))
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
      .def("__deepcopy__", [](const array& a, nb::handle) { return a; }, "memo"_a,
           nb::sig("def __deepcopy__(self, memo: dict[int, typing.Any]) -> array"))
      .def("__neg__", [](const array& a) { return negative(a); })
      .def("__pos__", [](const array& a) { return a; })
      .def("__abs__", [](const array& a) { return abs(a); })
      .def("__invert__", [](const array& a) {
        return a.dtype() == Dtype::bool_ ? logical_not(a) : bitwise_invert(a);
      });

  // Operators: Python scalars are weakly typed against the array; other operands that
  // cannot become arrays (None, strings) give NotImplemented, so == None is False.
// The other operand: whatever an op converts (array, scalar, list, numpy); == and != keep
// object's signature (any object compares).
#define EMBER_OTHER "array | numpy.typing.ArrayLike"
#define EMBER_OPERATOR_T(name, rname, fn, other)                                          \
  def_operator(cls, name, "def " name "(self, other: " other ") -> array", rname,         \
               "def " rname "(self, other: " other ") -> array",                            \
               [](const array& x, const array& y) { return fn(x, y); })
#define EMBER_OPERATOR(name, rname, fn) EMBER_OPERATOR_T(name, rname, fn, EMBER_OTHER)
  EMBER_OPERATOR("__add__", "__radd__", add);
  EMBER_OPERATOR("__sub__", "__rsub__", subtract);
  EMBER_OPERATOR("__mul__", "__rmul__", multiply);
  EMBER_OPERATOR("__truediv__", "__rtruediv__", divide);
  EMBER_OPERATOR("__floordiv__", "__rfloordiv__", floor_divide);
  EMBER_OPERATOR("__mod__", "__rmod__", remainder);
  EMBER_OPERATOR("__pow__", "__rpow__", power);
  EMBER_OPERATOR("__matmul__", "__rmatmul__", matmul);
  EMBER_OPERATOR_T("__eq__", "", equal, "object");
  EMBER_OPERATOR_T("__ne__", "", not_equal, "object");
  EMBER_OPERATOR("__lt__", "", less);
  EMBER_OPERATOR("__le__", "", less_equal);
  EMBER_OPERATOR("__gt__", "", greater);
  EMBER_OPERATOR("__ge__", "", greater_equal);
  EMBER_OPERATOR("__and__", "__rand__", bitwise_and);
  EMBER_OPERATOR("__or__", "__ror__", bitwise_or);
  EMBER_OPERATOR("__xor__", "__rxor__", bitwise_xor);
  EMBER_OPERATOR("__lshift__", "__rlshift__", left_shift);
  EMBER_OPERATOR("__rshift__", "__rrshift__", right_shift);
#undef EMBER_OPERATOR
#undef EMBER_OPERATOR_T
#undef EMBER_OTHER

  // Methods that mirror module functions (x.sum(axis=0) is mx.sum(x, axis=0)), as mlx's
  // array has them, are defined with their functions (def_op_and_method, bindings.h), with
  // the functions' signatures.
  cls.def_prop_ro("real", [](const array& a) { return real(a); }, "The real part.");
  cls.def_prop_ro("imag", [](const array& a) { return imag(a); }, "The imaginary part.");

  m.def("eval", [](nb::args args) {
        // Walks the trees here rather than through ember.utils.tree_flatten: no Python
        // objects are created, so none can keep the arrays alive after the call.
        std::vector<array> outs;
        collect_arrays(args, outs);
        without_gil([&] { eval(outs); });
      },
      "Computes the given arrays (or trees of arrays: lists, tuples, dicts) now.");
}

