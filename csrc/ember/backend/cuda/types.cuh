// Device-side element types and conversions of the CUDA backend. Each ember dtype maps to the
// type kernels compute with (float16 -> __half, bfloat16 -> __nv_bfloat16, complex64 ->
// cuda::std::complex<float>; the rest are themselves, with the same bytes), and convert()
// follows backend/common/convert.h's rules (numpy's: complex -> real keeps the real part,
// anything -> bool is "!= 0", halves go through float).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cuda/std/cmath>
#include <cuda/std/complex>
#include <cuda/std/limits>
#include <cuda/std/type_traits>

#include "ember/dtype.h"

namespace ember::cuda {

using cfloat = ::cuda::std::complex<float>;

template <typename T>
struct DeviceTypeOf {
  using type = T;
};
template <>
struct DeviceTypeOf<float16_t> {
  using type = __half;
};
template <>
struct DeviceTypeOf<bfloat16_t> {
  using type = __nv_bfloat16;
};
template <>
struct DeviceTypeOf<complex64_t> {
  using type = cfloat;
};
/// The device type of host element type T.
template <typename T>
using device_t = typename DeviceTypeOf<T>::type;

/// Calls f(D{}) with the device type D of dtype t.
template <typename F>
decltype(auto) dispatch(Dtype t, F&& f) {
  return dispatch_dtype(t, [&](auto v) -> decltype(auto) { return f(device_t<decltype(v)>{}); });
}

template <typename T>
inline constexpr bool is_half_v =
    ::cuda::std::is_same_v<T, __half> || ::cuda::std::is_same_v<T, __nv_bfloat16>;
template <typename T>
inline constexpr bool is_complex_v = ::cuda::std::is_same_v<T, cfloat>;

/// The type halves compute in (float); every other type computes as itself.
template <typename T>
using compute_t = ::cuda::std::conditional_t<is_half_v<T>, float, T>;

__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename H>
__device__ __forceinline__ H from_float(float f) {
  if constexpr (::cuda::std::is_same_v<H, __half>) return __float2half_rn(f);
  else return __float2bfloat16_rn(f);
}

template <typename To, typename From>
__device__ __forceinline__ To convert(From x) {
  using ::cuda::std::is_same_v;
  if constexpr (is_same_v<To, From>) {
    return x;
  } else if constexpr (is_complex_v<From>) {
    if constexpr (is_same_v<To, bool>) return x.real() != 0.f || x.imag() != 0.f;
    else return convert<To>(x.real());
  } else if constexpr (is_half_v<From>) {
    return convert<To>(to_float(x));
  } else if constexpr (is_same_v<To, bool>) {
    return x != From(0);
  } else if constexpr (is_complex_v<To>) {
    return cfloat(static_cast<float>(x), 0.f);
  } else if constexpr (is_half_v<To>) {
    return from_float<To>(static_cast<float>(x));
  } else if constexpr (::cuda::std::is_floating_point_v<From> && ::cuda::std::is_integral_v<To> &&
                       ::cuda::std::is_unsigned_v<To> && sizeof(To) < 8) {
    // As the host's conversion does on x86-64: through a wider signed integer, so that a
    // negative value wraps instead of saturating at 0.
    return static_cast<To>(static_cast<long long>(x));
  } else {
    return static_cast<To>(x);
  }
}

/// One element in its compute type (halves as float).
template <typename T>
__device__ __forceinline__ compute_t<T> load(T x) {
  if constexpr (is_half_v<T>) return to_float(x);
  else return x;
}

}  // namespace ember::cuda
