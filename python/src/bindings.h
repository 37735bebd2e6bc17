// One init function per binding file; module.cpp calls them in order.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/variant.h>

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "ember/array.h"
#include "ember/device.h"

#include "dtype_caster.h"

namespace nb = nanobind;

void init_dtype(nb::module_& m);
void init_array(nb::module_& m);
void init_ops_creation(nb::module_& m);
void init_ops_unary(nb::module_& m);
void init_ops_binary(nb::module_& m);
void init_ops_reduce(nb::module_& m);
void init_ops_shape(nb::module_& m);
void init_ops_index(nb::module_& m);
void init_ops_linalg(nb::module_& m);
void init_ops_quantized(nb::module_& m);
void init_ops_conv(nb::module_& m);
void init_random(nb::module_& m);
void init_linalg(nb::module_& m);
void init_fft(nb::module_& m);
void init_distributed(nb::module_& m);
void init_fast(nb::module_& m);
void init_transforms(nb::module_& m);
void init_memory(nb::module_& m);
void init_io(nb::module_& m);
void init_export(nb::module_& m);
void init_dlpack(nb::module_& m);
void init_device(nb::module_& m);

namespace ember::py {

/// Parameters that a binding converts itself (to_array, to_shape_arg, to_axes, ...), so that
/// the conversion raises the op's own error for a wrong value: each is an nb::handle at run
/// time, accepting any object, but names the Python types it accepts in the signature, and so
/// in the generated stubs (core.pyi), instead of `object`.
namespace arg_type {
struct Array {};    // what to_array converts: an array, a scalar, nested lists, numpy, buffers
// An int or a sequence of ints: shapes (to_shape_arg), axes (to_axes, the reduce family),
// sections, shifts, strides.
struct Ints {};
struct Axis {};     // one axis, converted with the op's name in its error
struct Index {};    // a[index]: ints, slices, ..., None, arrays and tuples of those
struct Arrays {};   // a sequence of arrays (concatenate, stack, ...)
struct Path {};     // a file name or an open binary file
struct Number {};   // a Python int or float (arange's bounds)
struct Key {};      // a PRNG key array (mx.random)
struct Seed {};     // an int seed
struct PadWidth {}; // pad's widths: n, (n,), (before, after) or one pair per axis
struct Ord {};      // a norm's order: a number, "fro" or "nuc"
struct Shapes {};   // one shape per output (custom kernels)
struct ArrayOrArrays {};  // an array or a sequence of arrays (depends)
struct TensordotAxes {};  // tensordot's axes: a count, or two lists of axes
struct DtypeLike {};      // a Dtype or a DtypeCategory (issubdtype)
struct NumpyDtype {};     // what numpy takes as a dtype (__array__)
struct Mapping {};        // a dict of name -> value (metadata)
struct NamedArrays {};    // a dict of name -> array (save_safetensors, save_gguf)
struct Str {};            // a str (format specs)
// Results of bindings that return one of several Python types.
struct SvdResult {};      // S, or (U, S, Vt)
struct ArrayOrList {};    // one array for one input, else a list
struct LoadResult {};     // mx.load: an array, a dict of arrays, or (dict, metadata)
struct NumpyArray {};
struct Kernel {};         // a custom kernel: called with keywords, returns its outputs
}  // namespace arg_type
template <typename Name>
using Typed = nb::typed<nb::handle, Name>;
using ArrayArg = Typed<arg_type::Array>;
using IntsArg = Typed<arg_type::Ints>;
using ShapeArg = IntsArg;  // the names say what the ints are
using AxesArg = IntsArg;
using AxisArg = Typed<arg_type::Axis>;
using IndexArg = Typed<arg_type::Index>;
using ArraysArg = Typed<arg_type::Arrays>;
using PathArg = Typed<arg_type::Path>;
using NumberArg = Typed<arg_type::Number>;
using KeyArg = Typed<arg_type::Key>;
using SeedArg = Typed<arg_type::Seed>;
using PadWidthArg = Typed<arg_type::PadWidth>;
using OrdArg = Typed<arg_type::Ord>;
using ShapesArg = Typed<arg_type::Shapes>;
using ArrayOrArraysArg = Typed<arg_type::ArrayOrArrays>;
using TensordotAxesArg = Typed<arg_type::TensordotAxes>;
using DtypeLikeArg = Typed<arg_type::DtypeLike>;
using NumpyDtypeArg = Typed<arg_type::NumpyDtype>;
using MappingArg = Typed<arg_type::Mapping>;
using NamedArraysArg = Typed<arg_type::NamedArrays>;
using StrArg = Typed<arg_type::Str>;
template <typename Name>
using TypedObject = nb::typed<nb::object, Name>;

/// The `stream` parameter as written in nb::sig strings, qualified so that it reads the same
/// in the stubs of ember.core's submodules; EMBER_STREAM_SIG with the `*, ` before it.
#define EMBER_STREAM_PARAM                                                               \
  "stream: ember.core.Stream | ember.core.ThreadLocalStream | ember.core.Device | "      \
  "ember.core.DeviceType | None = None"
#define EMBER_STREAM_SIG "*, " EMBER_STREAM_PARAM

/// What a `stream=` keyword takes (MLX's StreamOrDevice): a Stream, a ThreadLocalStream, a
/// Device, a DeviceType, or None for the thread's current stream.
using StreamOrDevice = std::optional<std::variant<Stream, ThreadLocalStream, Device, DeviceType>>;

/// The stream `s` names; `op` names the caller in errors (an unavailable device, a stream
/// that no longer exists).
Stream to_stream(const std::variant<Stream, ThreadLocalStream, Device, DeviceType>& s,
                 const char* op);

namespace op_detail {
template <typename T>
struct op_traits : op_traits<decltype(&T::operator())> {};
template <typename C, typename R, typename... A>
struct op_traits<R (C::*)(A...) const> {
  static constexpr bool variadic = (std::is_same_v<std::decay_t<A>, nb::args> || ...);
  template <typename F>
  static auto with_stream(F f, const char* op) {
    return [f = std::move(f), op](A... args, StreamOrDevice s) -> R {
      if (!s) return f(std::forward<A>(args)...);
      StreamScope scope(to_stream(*s, op));
      return f(std::forward<A>(args)...);
    };
  }
};
}  // namespace op_detail

/// m.def for an op: the same function with a keyword-only `stream=None` added (as every
/// op of mlx.core has), which runs the op's nodes on that stream or device. `f` is a lambda;
/// `extra` are m.def's annotations for f's own parameters and its docstring.
template <typename F, typename... Extra>
void def_op(nb::module_& m, const char* name, F f, const Extra&... extra) {
  using traits = op_detail::op_traits<F>;
  constexpr bool has_kw_only = (std::is_same_v<Extra, nb::kw_only> || ...);
  auto g = traits::with_stream(std::move(f), name);
  if constexpr (has_kw_only || traits::variadic) {
    m.def(name, std::move(g), extra..., nb::arg("stream") = nb::none());
  } else {
    m.def(name, std::move(g), extra..., nb::kw_only(), nb::arg("stream") = nb::none());
  }
}

/// def_op, and the same function as a method of array whose self is the op's first argument
/// (`a.sum(axis=0)` is `mx.sum(a, axis=0)`), as mlx's array has them, with the op's real
/// signature. `doc` is the docstring; `extra` are the annotations of the parameters after `a`.
template <typename F, typename Doc, typename... Extra>
void def_op_and_method(nb::module_& m, const char* name, F f, const Doc& doc,
                       const Extra&... extra) {
  using namespace nb::literals;
  def_op(m, name, f, "a"_a, extra..., doc);
  auto g = op_detail::op_traits<F>::with_stream(f, name);
  nb::handle cls = nb::type<array>();
  // Set, not overloaded: a method of this name defined earlier is replaced.
  if constexpr ((std::is_same_v<Extra, nb::kw_only> || ...)) {
    nb::setattr(cls, name, nb::cpp_function(g, nb::is_method(), nb::name(name), extra...,
                                            nb::arg("stream") = nb::none(), doc));
  } else {
    nb::setattr(cls, name, nb::cpp_function(g, nb::is_method(), nb::name(name), extra...,
                                            nb::kw_only(), nb::arg("stream") = nb::none(), doc));
  }
}

}  // namespace ember::py

// The names the typed parameters above carry into signatures (nanobind renders
// typed<handle, T> as make_caster<T>::Name; the value itself is converted as a handle).
// `ember_builtin_slice` is Python's slice, which ember.core.slice (the op) would shadow in
// the stubs: cmake/stubgen.py writes it as builtins.slice.
namespace nanobind::detail {
#define EMBER_ARG_TYPE_NAME(Tag, Str)                        \
  template <>                                                \
  struct type_caster<ember::py::arg_type::Tag> {             \
    static constexpr auto Name = const_name(Str);            \
  }
EMBER_ARG_TYPE_NAME(Array, "ember.core.array | numpy.typing.ArrayLike");
EMBER_ARG_TYPE_NAME(Ints, "int | collections.abc.Sequence[int]");
EMBER_ARG_TYPE_NAME(Axis, "int");
EMBER_ARG_TYPE_NAME(Index,
                    "int | ember_builtin_slice | types.EllipsisType | ember.core.array | "
                    "collections.abc.Sequence[typing.Any] | numpy.ndarray");
EMBER_ARG_TYPE_NAME(Arrays, "collections.abc.Sequence[ember.core.array | numpy.typing.ArrayLike]");
EMBER_ARG_TYPE_NAME(Path, "str | os.PathLike[str] | typing.IO[bytes]");
EMBER_ARG_TYPE_NAME(Number, "int | float");
EMBER_ARG_TYPE_NAME(Key, "ember.core.array");
EMBER_ARG_TYPE_NAME(Seed, "int");
EMBER_ARG_TYPE_NAME(PadWidth, "int | tuple[int] | tuple[int, int] | "
                              "collections.abc.Sequence[tuple[int, int]]");
EMBER_ARG_TYPE_NAME(Ord, "int | float | str");
EMBER_ARG_TYPE_NAME(Shapes, "collections.abc.Sequence[collections.abc.Sequence[int]]");
EMBER_ARG_TYPE_NAME(ArrayOrArrays,
                    "ember.core.array | collections.abc.Sequence[ember.core.array]");
EMBER_ARG_TYPE_NAME(TensordotAxes,
                    "int | collections.abc.Sequence[collections.abc.Sequence[int]]");
EMBER_ARG_TYPE_NAME(DtypeLike, "ember.core.Dtype | ember.core.DtypeCategory");
EMBER_ARG_TYPE_NAME(NumpyDtype, "numpy.typing.DTypeLike");
EMBER_ARG_TYPE_NAME(Mapping, "collections.abc.Mapping[str, typing.Any]");
EMBER_ARG_TYPE_NAME(NamedArrays, "collections.abc.Mapping[str, ember.core.array]");
EMBER_ARG_TYPE_NAME(Str, "str");
EMBER_ARG_TYPE_NAME(SvdResult, "ember.core.array | "
                               "tuple[ember.core.array, ember.core.array, ember.core.array]");
EMBER_ARG_TYPE_NAME(ArrayOrList, "ember.core.array | list[ember.core.array]");
EMBER_ARG_TYPE_NAME(LoadResult,
                    "ember.core.array | dict[str, ember.core.array] | "
                    "tuple[dict[str, ember.core.array], dict[str, typing.Any]]");
EMBER_ARG_TYPE_NAME(NumpyArray, "numpy.ndarray");
EMBER_ARG_TYPE_NAME(Kernel, "collections.abc.Callable[..., list[ember.core.array]]");
#undef EMBER_ARG_TYPE_NAME
}  // namespace nanobind::detail
