// Value conversion between any two element types (bool, ints, halves, float,
// double, complex64), with numpy's rules: complex -> real keeps the real part,
// anything -> bool is "!= 0".
#pragma once

#include <type_traits>

#include "ember/dtype.h"

namespace ember::detail {

template <typename T>
inline constexpr bool is_half_v = std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>;

template <typename To, typename From>
inline To convert(From x) {
  if constexpr (std::is_same_v<To, From>) {
    return x;
  } else if constexpr (std::is_same_v<From, complex64_t>) {
    if constexpr (std::is_same_v<To, bool>) return x.real() != 0.f || x.imag() != 0.f;
    else return convert<To>(x.real());
  } else if constexpr (is_half_v<From>) {
    return convert<To>(static_cast<float>(x));
  } else if constexpr (std::is_same_v<To, bool>) {
    return x != From(0);
  } else if constexpr (std::is_same_v<To, complex64_t>) {
    return complex64_t(static_cast<float>(x), 0.f);
  } else if constexpr (is_half_v<To>) {
    return To(static_cast<float>(x));
  } else {
    return static_cast<To>(x);
  }
}

}  // namespace ember::detail
