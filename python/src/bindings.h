// One init function per binding file; module.cpp calls them in order.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/variant.h>

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

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
void init_fast(nb::module_& m);
void init_transforms(nb::module_& m);
void init_memory(nb::module_& m);
void init_io(nb::module_& m);
void init_export(nb::module_& m);
void init_dlpack(nb::module_& m);
void init_device(nb::module_& m);

namespace ember::py {

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

}  // namespace ember::py
