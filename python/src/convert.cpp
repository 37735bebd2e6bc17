// Python <-> array conversions.
#include "convert.h"

#include <nanobind/ndarray.h>

#include "ember/errors.h"

#include <complex>
#include <cstring>
#include <memory>
#include <limits>

namespace ember::py {

namespace {

// ---- nested lists ------------------------------------------------------
enum class ScalarKind { none, boolean, integer, floating, complex };

struct ListInfo {
  Shape shape;
  ScalarKind kind = ScalarKind::none;
  bool has_arrays = false;
  bool beyond_int64 = false;  // a Python int needs uint64
};

ScalarKind scalar_kind(nb::handle o) {
  if (nb::isinstance<nb::bool_>(o)) return ScalarKind::boolean;
  if (nb::isinstance<nb::int_>(o)) return ScalarKind::integer;
  if (nb::isinstance<nb::float_>(o)) return ScalarKind::floating;
  if (PyComplex_Check(o.ptr())) return ScalarKind::complex;
  return ScalarKind::none;
}

// A Python int must fit the integer dtype it becomes: numpy 2 and MLX raise rather than
// wrap (uint8 + 300 is an error, not 44). Floating and bool targets take any int.
bool int_fits(nb::handle obj, Dtype t) {
  if (!is_integral(t)) return true;
  const int bits = int(size_of(t)) * 8;
  int64_t v;
  if (nb::try_cast<int64_t>(obj, v)) {
    if (is_unsigned(t)) return v >= 0 && (bits == 64 || v < (int64_t(1) << bits));
    return bits == 64 || (v >= -(int64_t(1) << (bits - 1)) && v < (int64_t(1) << (bits - 1)));
  }
  PyErr_Clear();
  uint64_t u;
  bool ok = t == Dtype::uint64 && nb::try_cast<uint64_t>(obj, u);
  PyErr_Clear();
  return ok;
}

// ValueError, as MLX raises it.
[[noreturn]] void int_out_of_range(nb::handle obj, Dtype t) {
  const int bits = int(size_of(t)) * 8;
  std::string range = is_unsigned(t) ? msg("0 to 2**", bits, " - 1")
                                     : msg("-2**", bits - 1, " to 2**", bits - 1, " - 1");
  throw std::invalid_argument(msg("The Python int ", nb::str(obj).c_str(), " is out of range for ",
                                  dtype_name(t), " (", range, "); it would wrap around."));
}

void check_ints(nb::handle obj, Dtype t) {
  if (nb::isinstance<nb::list>(obj) || nb::isinstance<nb::tuple>(obj)) {
    for (auto item : obj) check_ints(item, t);
  } else if (nb::isinstance<nb::int_>(obj) && !nb::isinstance<nb::bool_>(obj) &&
             !int_fits(obj, t)) {
    int_out_of_range(obj, t);
  }
}

constexpr const char* kRagged =
    "[array] The nested lists are ragged (not one rectangular shape).";

// Walks a nested list once to find its shape and the widest scalar kind.
void inspect(nb::handle obj, size_t depth, ListInfo& info) {
  bool seq = nb::isinstance<nb::list>(obj) || nb::isinstance<nb::tuple>(obj);
  if (!seq) {
    if (nb::isinstance<array>(obj)) {
      info.has_arrays = true;
      return;
    }
    auto k = scalar_kind(obj);
    if (k == ScalarKind::none) {
      // numpy scalars and other number-likes
      if (PyNumber_Check(obj.ptr()) || PyObject_CheckBuffer(obj.ptr())) {
        info.has_arrays = true;
        return;
      }
      throw nb::type_error(("[array] Cannot convert an element of type " +
                            std::string(nb::type_name(obj.type()).c_str()) + " to an array.")
                               .c_str());
    }
    if (depth != info.shape.size()) {
      throw std::invalid_argument(kRagged);
    }
    info.kind = std::max(info.kind, k);
    if (k == ScalarKind::integer && !info.beyond_int64) {
      int64_t v;
      info.beyond_int64 = !nb::try_cast<int64_t>(obj, v);
    }
    return;
  }
  auto n = int64_t(nb::len(obj));
  if (depth == info.shape.size()) {
    if (info.kind != ScalarKind::none) {
      throw std::invalid_argument(kRagged);
    }
    info.shape.push_back(n);
  } else if (depth > info.shape.size() || info.shape[depth] != n) {
    throw std::invalid_argument(kRagged);
  }
  for (auto item : obj) inspect(item, depth + 1, info);
}

template <typename T>
void fill(nb::handle obj, T*& out) {
  if (nb::isinstance<nb::list>(obj) || nb::isinstance<nb::tuple>(obj)) {
    for (auto item : obj) fill(item, out);
    return;
  }
  if constexpr (std::is_same_v<T, complex64_t>) {
    Py_complex c = PyComplex_AsCComplex(obj.ptr());
    *out++ = complex64_t(float(c.real), float(c.imag));
  } else if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>) {
    *out++ = T(nb::cast<double>(obj));
  } else if constexpr (std::is_same_v<T, bool>) {
    *out++ = nb::cast<bool>(obj);
  } else if constexpr (std::is_same_v<T, uint64_t>) {
    uint64_t v;
    if (!nb::try_cast<uint64_t>(obj, v)) {
      PyErr_Clear();
      PyErr_SetString(PyExc_OverflowError,
                      "[array] The list mixes negative ints with ints beyond int64, or holds an "
                      "int beyond uint64; no integer dtype holds them all.");
      throw nb::python_error();
    }
    *out++ = v;
  } else {
    *out++ = T(nb::cast<int64_t>(obj));
  }
}

array from_list(nb::handle obj, std::optional<Dtype> dtype) {
  ListInfo info;
  inspect(obj, 0, info);
  if (info.has_arrays) {
    // A list of arrays (or of numpy scalars) becomes a stack: differentiable.
    std::vector<array> parts;
    for (auto item : obj) parts.push_back(to_array(item, dtype));
    if (parts.empty()) return zeros({0}, dtype.value_or(Dtype::float32));
    auto res = stack(parts, 0);
    return dtype ? astype(res, *dtype) : res;
  }
  Dtype natural = Dtype::float32;
  switch (info.kind) {
    case ScalarKind::boolean: natural = Dtype::bool_; break;
    case ScalarKind::integer: natural = Dtype::int32; break;
    case ScalarKind::complex: natural = Dtype::complex64; break;
    default: natural = Dtype::float32;
  }
  if (info.kind == ScalarKind::integer && dtype && is_integral(*dtype)) check_ints(obj, *dtype);
  // Build in a wide type first, then convert once.
  int64_t n = shape_size(info.shape, "array");
  auto build = [&](auto tag, Dtype t) {
    using T = decltype(tag);
    std::unique_ptr<T[]> buf(new T[std::max<int64_t>(n, 1)]);
    T* p = buf.get();
    fill<T>(obj, p);
    return array(buf.get(), info.shape, t);
  };
  array a;
  switch (info.kind) {
    case ScalarKind::boolean: a = build(bool{}, Dtype::bool_); break;
    case ScalarKind::integer: {
      if (info.beyond_int64) {
        a = build(uint64_t{}, Dtype::uint64);
        natural = Dtype::uint64;
        break;
      }
      a = build(int64_t{}, Dtype::int64);
      // Ints default to int32 unless a value needs 64 bits.
      const int64_t* d = a.data<int64_t>();
      bool fits = true;
      for (int64_t i = 0; i < n && fits; ++i) {
        fits = d[i] >= std::numeric_limits<int32_t>::min() &&
               d[i] <= std::numeric_limits<int32_t>::max();
      }
      if (!fits) natural = Dtype::int64;
      break;
    }
    case ScalarKind::complex: a = build(complex64_t{}, Dtype::complex64); break;
    default: a = build(double{}, Dtype::float64); break;
  }
  return a.astype_now(dtype.value_or(natural));
}

// ---- buffer protocol / numpy -------------------------------------------
std::optional<Dtype> dtype_from_format(const char* fmt, Py_ssize_t itemsize) {
  std::string f(fmt);
  if (!f.empty() && (f[0] == '<' || f[0] == '=' || f[0] == '@' || f[0] == '|')) f = f.substr(1);
  if (f == "?") return Dtype::bool_;
  if (f == "e") return Dtype::float16;
  if (f == "f") return Dtype::float32;
  if (f == "d") return Dtype::float64;
  if (f == "Zf") return Dtype::complex64;
  if (f == "b" || f == "h" || f == "i" || f == "l" || f == "q") {
    switch (itemsize) {
      case 1: return Dtype::int8;
      case 2: return Dtype::int16;
      case 4: return Dtype::int32;
      case 8: return Dtype::int64;
    }
  }
  if (f == "B" || f == "H" || f == "I" || f == "L" || f == "Q") {
    switch (itemsize) {
      case 1: return Dtype::uint8;
      case 2: return Dtype::uint16;
      case 4: return Dtype::uint32;
      case 8: return Dtype::uint64;
    }
  }
  return std::nullopt;
}

array from_buffer(nb::handle obj, std::optional<Dtype> dtype) {
  // numpy's bfloat16 (ml_dtypes) and complex128 need a cast through numpy first.
  nb::object o = nb::borrow(obj);
  if (nb::hasattr(o, "dtype")) {
    nb::object dtype_obj = o.attr("dtype");
    nb::object dtype_str = nb::steal(PyObject_Str(dtype_obj.ptr()));
    std::string name = PyUnicode_AsUTF8(dtype_str.ptr());
    if (name == "bfloat16") {
      array f = from_buffer(o.attr("astype")("float32"), std::nullopt);
      return astype(f, dtype.value_or(Dtype::bfloat16)).astype_now(dtype.value_or(Dtype::bfloat16));
    }
    if (name == "complex128") return from_buffer(o.attr("astype")("complex64"), dtype);
    if (nb::hasattr(dtype_obj, "isnative") && !nb::cast<bool>(dtype_obj.attr("isnative"))) {
      return from_buffer(o.attr("astype")(dtype_obj.attr("newbyteorder")("=")), dtype);
    }
  }
  Py_buffer view;
  if (PyObject_GetBuffer(o.ptr(), &view, PyBUF_RECORDS_RO) != 0) {
    PyErr_Clear();
    throw nb::type_error("[array] Object does not support the buffer protocol.");
  }
  struct Release {
    Py_buffer* v;
    ~Release() { PyBuffer_Release(v); }
  } release{&view};
  auto t = dtype_from_format(view.format ? view.format : "B", view.itemsize);
  if (!t) {
    std::string text = std::string("[array] Unsupported buffer format '") + view.format + "'.";
    throw nb::type_error(text.c_str());
  }
  Shape shape(view.shape, view.shape + view.ndim);
  int64_t n = shape_size(shape);
  array out;
  bool c_contig = PyBuffer_IsContiguous(&view, 'C');
  if (c_contig) {
    out = array(view.buf, shape, *t);
  } else {
    // Gather element by element into row-major order.
    out = array::placeholder(shape, *t);
    out.allocate_row_contiguous();
    char* dst = static_cast<char*>(out.raw_data());
    std::vector<int64_t> idx(view.ndim, 0);
    for (int64_t i = 0; i < n; ++i) {
      const char* p = static_cast<const char*>(view.buf);
      for (int d = 0; d < view.ndim; ++d) p += idx[d] * view.strides[d];
      std::memcpy(dst + i * view.itemsize, p, view.itemsize);
      for (int d = view.ndim - 1; d >= 0; --d) {
        if (++idx[d] < view.shape[d]) break;
        idx[d] = 0;
      }
    }
  }
  // numpy's default float64 becomes float32 unless asked for, as in MLX (a float64 numpy
  // array would otherwise turn a float32 model into float64 silently).
  if (!dtype && out.dtype() == Dtype::float64) return out.astype_now(Dtype::float32);
  return dtype ? out.astype_now(*dtype) : out;
}

}  // namespace

bool is_python_scalar(nb::handle obj) { return scalar_kind(obj) != ScalarKind::none; }

namespace {
// numpy's complex128 scalars subclass Python's complex. (Its float64 scalars subclass float
// and are read as Python floats: float32 on their own, as in MLX.)
bool is_numpy_scalar(nb::handle o) {
  bool sub = PyComplex_Check(o.ptr()) && !PyComplex_CheckExact(o.ptr());
  return sub && nb::hasattr(o, "dtype");
}
}  // namespace

namespace {
// A 0-d array of a Python scalar's value in dtype t: one allocation, no cast kernel, for the
// dtypes scalars usually take (same values as astype_now: exact, or float64 -> float32
// rounded to nearest).
array scalar_array(double v, Dtype t) {
  if (t == Dtype::float32) return array(static_cast<float>(v));
  if (t == Dtype::float64) return array(v);
  return array(v).astype_now(t);
}
array scalar_array(int64_t v, Dtype t) {  // v fits t (checked by the caller)
  if (t == Dtype::int32) return array(static_cast<int32_t>(v));
  if (t == Dtype::int64) return array(v);
  if (t == Dtype::float32) return array(static_cast<float>(v));
  return array(v).astype_now(t);
}
}  // namespace

array to_array(nb::handle obj, std::optional<Dtype> dtype, const array* like) {
  if (nb::isinstance<array>(obj)) {
    const array& a = nb::cast<const array&>(obj);
    return dtype ? astype(a, *dtype) : a;
  }
  // A numpy scalar converted on its own keeps its dtype (mx.array(np.float64(1)) is
  // float64); next to an array in a binary op (`like` given) it is weak, like a Python
  // float, so that x * np.sqrt(2) keeps x's float32 as in mlx.
  auto k = (like == nullptr && is_numpy_scalar(obj)) ? ScalarKind::none : scalar_kind(obj);
  if (k != ScalarKind::none) {
    Dtype t;
    switch (k) {
      case ScalarKind::boolean: t = Dtype::bool_; break;
      case ScalarKind::integer:
        if (like && like->dtype() != Dtype::bool_) t = like->dtype();
        else t = Dtype::int32;
        break;
      case ScalarKind::floating:
        t = (like && is_inexact(like->dtype())) ? like->dtype() : Dtype::float32;
        break;
      default: t = Dtype::complex64;
    }
    if (dtype) t = *dtype;
    switch (k) {
      case ScalarKind::boolean: return array(nb::cast<bool>(obj)).astype_now(t);
      case ScalarKind::integer: {
        int64_t v;
        if (!nb::try_cast<int64_t>(obj, v)) {
          // Beyond int64: uint64 when it fits (unless a dtype or a weak type is given).
          uint64_t u;
          if (nb::try_cast<uint64_t>(obj, u)) {
            Dtype target = dtype || like ? t : Dtype::uint64;
            if (!int_fits(obj, target)) int_out_of_range(obj, target);
            return array(u).astype_now(target);
          }
          PyErr_Clear();
          PyErr_SetString(PyExc_OverflowError,
                          "[array] Python int is too large for a 64-bit integer.");
          throw nb::python_error();
        }
        bool fits32 = v >= std::numeric_limits<int32_t>::min() &&
                      v <= std::numeric_limits<int32_t>::max();
        if (!dtype && !like && !fits32) {
          t = Dtype::int64;
        }
        if (!int_fits(obj, t)) int_out_of_range(obj, t);
        return scalar_array(v, t);
      }
      case ScalarKind::floating: return scalar_array(nb::cast<double>(obj), t);
      default: {
        Py_complex c = PyComplex_AsCComplex(obj.ptr());
        return array(complex64_t(float(c.real), float(c.imag))).astype_now(t);
      }
    }
  }
  if (nb::isinstance<nb::list>(obj) || nb::isinstance<nb::tuple>(obj)) return from_list(obj, dtype);
  if (nb::hasattr(obj, "__ember_array__")) return to_array(obj.attr("__ember_array__")(), dtype);
  // MLX's protocol (mx.ArrayLike): objects of MLX programs convert the same way.
  if (nb::hasattr(obj, "__mlx_array__")) return to_array(obj.attr("__mlx_array__")(), dtype);
  if (PyObject_CheckBuffer(obj.ptr())) return from_buffer(obj, dtype);
  // numpy scalars (np.float32(1)), jax / torch arrays: go through numpy.
  if (nb::hasattr(obj, "__array__")) {
    nb::object np = nb::module_::import_("numpy");
    return from_buffer(np.attr("asarray")(obj), dtype);
  }
  throw nb::type_error(("[array] Cannot convert an object of type " +
                        std::string(nb::type_name(obj.type()).c_str()) + " to an array.")
                           .c_str());
}

std::pair<array, array> to_arrays(nb::handle a, nb::handle b) {
  bool sa = is_python_scalar(a), sb = is_python_scalar(b);
  if (sa && !sb) {
    array y = to_array(b);
    return {to_array(a, std::nullopt, &y), y};
  }
  if (sb && !sa) {
    array x = to_array(a);
    return {x, to_array(b, std::nullopt, &x)};
  }
  return {to_array(a), to_array(b)};
}

int to_int_axis(nb::handle axis) {
  int64_t v;
  if (!nb::try_cast<int64_t>(axis, v) || v < std::numeric_limits<int>::min() ||
      v > std::numeric_limits<int>::max()) {
    PyErr_Clear();
    throw std::out_of_range(std::string("axis ") + nb::str(axis).c_str() +
                            " is out of bounds for any array.");
  }
  return int(v);
}

int to_axis(const char* op, nb::handle axis) {
  if (!nb::isinstance<nb::int_>(axis)) {
    throw nb::type_error(msg("[", op, "] axis must be an int, got ",
                             nb::type_name(axis.type()).c_str(), ".")
                             .c_str());
  }
  return to_int_axis(axis);
}

std::optional<int> to_opt_axis(const char* op, nb::handle axis) {
  if (axis.is_none()) return std::nullopt;
  if (!nb::isinstance<nb::int_>(axis)) {
    throw nb::type_error(msg("[", op, "] axis must be None or an int, got ",
                             nb::type_name(axis.type()).c_str(), ".")
                             .c_str());
  }
  return to_int_axis(axis);
}

Shape to_shape_arg(nb::handle shape) {
  auto bad = [&](nb::handle item) {
    throw nb::type_error((std::string("shape must be an int or a sequence of ints, got ") +
                          nb::type_name(item.type()).c_str() + " in " + nb::repr(shape).c_str() +
                          ".")
                             .c_str());
  };
  auto dim = [&](nb::handle d) -> int64_t {
    if (!nb::isinstance<nb::int_>(d) || nb::isinstance<nb::bool_>(d)) {
      if (!PyIndex_Check(d.ptr()) || nb::isinstance<nb::bool_>(d)) bad(d);
    }
    int64_t v;
    if (!nb::try_cast<int64_t>(d, v)) {
      PyErr_Clear();
      throw std::invalid_argument(std::string("The dimension ") + nb::str(d).c_str() + " in " +
                                  nb::repr(shape).c_str() + " is too large.");
    }
    return v;
  };
  if (nb::isinstance<nb::int_>(shape) || (PyIndex_Check(shape.ptr()) && !nb::hasattr(shape, "__len__"))) {
    return {dim(shape)};
  }
  if (!nb::isinstance<nb::list>(shape) && !nb::isinstance<nb::tuple>(shape)) bad(shape);
  Shape out;
  for (auto d : shape) out.push_back(dim(d));
  return out;
}

std::optional<std::vector<int>> to_axes(nb::handle axis) {
  if (axis.is_none()) return std::nullopt;
  if (nb::isinstance<nb::int_>(axis)) return std::vector<int>{to_int_axis(axis)};
  if (nb::isinstance<nb::list>(axis) || nb::isinstance<nb::tuple>(axis)) {
    std::vector<int> axes;
    bool ints = true;
    for (auto a : axis) ints &= nb::isinstance<nb::int_>(a);
    if (ints) {
      for (auto a : axis) axes.push_back(to_int_axis(a));
      return axes;
    }
  }
  std::vector<int> axes;
  if (!nb::try_cast(axis, axes)) {
    throw nb::type_error(("axis must be None, an int or a sequence of ints, got " +
                          std::string(nb::type_name(axis.type()).c_str()) + ".")
                             .c_str());
  }
  return axes;
}

// ---- back to Python ---------------------------------------------------------
namespace {

// A read-only numpy view of evaluated `a`, its elements seen as `dt`.
nb::object numpy_view(const array& a, nb::dlpack::dtype dt) {
  // The capsule keeps the array (and so its buffer) alive as long as numpy needs it.
  auto* keep = new array(a);
  nb::capsule owner(keep, [](void* p) noexcept { delete static_cast<array*>(p); });
  std::vector<size_t> shape(a.shape().begin(), a.shape().end());
  std::vector<int64_t> strides(a.strides().begin(), a.strides().end());
  void* data = a.size() > 0 ? a.raw_data() : nullptr;
  nb::ndarray<nb::numpy, nb::ro> nd(data, a.ndim(), shape.data(), owner, strides.data(), dt);
  return nb::cast(nd);
}

}  // namespace

nb::object to_numpy_bits(array a) {
  if (a.dtype() != Dtype::bfloat16) return to_numpy(a);
  without_gil([&] { a.eval(); });
  return numpy_view(a, nb::dtype<uint16_t>());
}

nb::object to_numpy(array a) {
  without_gil([&] { a.eval(); });
  if (a.dtype() == Dtype::bfloat16) {
    array f = astype(a, Dtype::float32);
    without_gil([&] { f.eval(); });
    return to_numpy(f);
  }
  nb::dlpack::dtype dt;
  switch (a.dtype()) {
    case Dtype::bool_: dt = nb::dtype<bool>(); break;
    case Dtype::uint8: dt = nb::dtype<uint8_t>(); break;
    case Dtype::uint16: dt = nb::dtype<uint16_t>(); break;
    case Dtype::uint32: dt = nb::dtype<uint32_t>(); break;
    case Dtype::uint64: dt = nb::dtype<uint64_t>(); break;
    case Dtype::int8: dt = nb::dtype<int8_t>(); break;
    case Dtype::int16: dt = nb::dtype<int16_t>(); break;
    case Dtype::int32: dt = nb::dtype<int32_t>(); break;
    case Dtype::int64: dt = nb::dtype<int64_t>(); break;
    case Dtype::float16: dt = {uint8_t(nb::dlpack::dtype_code::Float), 16, 1}; break;
    case Dtype::float32: dt = nb::dtype<float>(); break;
    case Dtype::float64: dt = nb::dtype<double>(); break;
    case Dtype::complex64: dt = nb::dtype<std::complex<float>>(); break;
    default: dt = nb::dtype<float>();
  }
  return numpy_view(a, dt);
}

nb::object to_scalar(array a) {
  if (a.size() != 1) {
    throw std::invalid_argument("[item] Only arrays with one element can be converted to a "
                                "Python scalar, got shape " + shape_str(a.shape()) + ".");
  }
  without_gil([&] { a.eval(); });
  switch (kind_of(a.dtype())) {
    case DtypeKind::boolean: return nb::bool_(element_as<bool>(a, 0));
    case DtypeKind::unsigned_int: return nb::int_(element_as<uint64_t>(a, 0));
    case DtypeKind::signed_int: return nb::int_(element_as<int64_t>(a, 0));
    case DtypeKind::floating: return nb::float_(element_as<double>(a, 0));
    case DtypeKind::complex: {
      auto c = element_as<complex64_t>(a, 0);
      return nb::steal(PyComplex_FromDoubles(c.real(), c.imag()));
    }
  }
  return nb::none();
}

nb::object to_list(array a) {
  if (a.ndim() == 0) return to_scalar(a);
  return to_numpy(a).attr("tolist")();
}

// The arrays among the leaves of a tree of lists, tuples and dicts.
void collect_arrays(nb::handle tree, std::vector<array>& out) {
  if (nb::isinstance<array>(tree)) {
    out.push_back(nb::cast<array>(tree));
  } else if (nb::isinstance<nb::list>(tree) || nb::isinstance<nb::tuple>(tree)) {
    for (auto item : tree) collect_arrays(item, out);
  } else if (nb::isinstance<nb::dict>(tree)) {
    for (auto item : nb::borrow<nb::dict>(tree).values()) collect_arrays(item, out);
  }
}

}  // namespace ember::py
