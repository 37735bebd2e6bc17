// Data types, their sizes and names, numpy-like type promotion, and a
// compile-time map from Dtype to the C++ type the kernels use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "ember/api.h"
#include "ember/types/half.h"

namespace ember {

enum class Dtype : uint8_t {
  bool_,
  uint8,
  uint16,
  uint32,
  uint64,
  int8,
  int16,
  int32,
  int64,
  float16,
  bfloat16,
  float32,
  float64,
  complex64,
};
inline constexpr int kNumDtypes = 14;

/// Broad kinds, ordered so that promotion across kinds goes up the list.
enum class DtypeKind : uint8_t { boolean, unsigned_int, signed_int, floating, complex };

EMBER_API size_t size_of(Dtype t);
EMBER_API DtypeKind kind_of(Dtype t);
/// The numpy / mlx name: "float32", "bool", ...
EMBER_API const char* dtype_name(Dtype t);
EMBER_API bool is_integral(Dtype t);  // bool excluded
EMBER_API bool is_unsigned(Dtype t);
EMBER_API bool is_floating(Dtype t);  // real floating point only
EMBER_API bool is_complex(Dtype t);
/// Floating or complex: the dtypes that can carry gradients.
EMBER_API bool is_inexact(Dtype t);

/// Abstract dtype groups, as numpy's and mlx's (generic > number > integer >
/// signed / unsigned; number > inexact > floating / complex). bool is only generic.
enum class DtypeCategory : uint8_t {
  generic,
  number,
  integer,
  signedinteger,
  unsignedinteger,
  inexact,
  floating,
  complexfloating,
};
EMBER_API const char* category_name(DtypeCategory c);
/// Whether dtype t belongs to category c (numpy.issubdtype).
EMBER_API bool issubdtype(Dtype t, DtypeCategory c);
/// Whether category a lies inside category b.
EMBER_API bool issubdtype(DtypeCategory a, DtypeCategory b);

/// numpy-like promotion: the smallest dtype that holds both (int64 with
/// uint64 gives float32, as in mlx; float16 with bfloat16 gives float32).
EMBER_API Dtype promote_types(Dtype a, Dtype b);
/// The float dtype an integer or bool array becomes for ops such as exp.
EMBER_API Dtype to_inexact(Dtype t);

template <typename T>
struct TypeToDtype;
#define EMBER_TYPE_DTYPE(T, D) \
  template <>                  \
  struct TypeToDtype<T> {      \
    static constexpr Dtype value = Dtype::D; \
  };
EMBER_TYPE_DTYPE(bool, bool_)
EMBER_TYPE_DTYPE(uint8_t, uint8)
EMBER_TYPE_DTYPE(uint16_t, uint16)
EMBER_TYPE_DTYPE(uint32_t, uint32)
EMBER_TYPE_DTYPE(uint64_t, uint64)
EMBER_TYPE_DTYPE(int8_t, int8)
EMBER_TYPE_DTYPE(int16_t, int16)
EMBER_TYPE_DTYPE(int32_t, int32)
EMBER_TYPE_DTYPE(int64_t, int64)
EMBER_TYPE_DTYPE(float16_t, float16)
EMBER_TYPE_DTYPE(bfloat16_t, bfloat16)
EMBER_TYPE_DTYPE(float, float32)
EMBER_TYPE_DTYPE(double, float64)
EMBER_TYPE_DTYPE(complex64_t, complex64)
#undef EMBER_TYPE_DTYPE

template <typename T>
inline constexpr Dtype dtype_of = TypeToDtype<T>::value;

/// Calls f(T{}) with the C++ type for `t`. Kernels use it to instantiate one
/// template per dtype.
template <typename F>
decltype(auto) dispatch_dtype(Dtype t, F&& f) {
  switch (t) {
    case Dtype::bool_: return f(bool{});
    case Dtype::uint8: return f(uint8_t{});
    case Dtype::uint16: return f(uint16_t{});
    case Dtype::uint32: return f(uint32_t{});
    case Dtype::uint64: return f(uint64_t{});
    case Dtype::int8: return f(int8_t{});
    case Dtype::int16: return f(int16_t{});
    case Dtype::int32: return f(int32_t{});
    case Dtype::int64: return f(int64_t{});
    case Dtype::float16: return f(float16_t{});
    case Dtype::bfloat16: return f(bfloat16_t{});
    case Dtype::float32: return f(float{});
    case Dtype::float64: return f(double{});
    case Dtype::complex64: return f(complex64_t{});
  }
  return f(float{});  // unreachable
}

}  // namespace ember
