// Dtype tables and the promotion rule.
#include "ember/dtype.h"

namespace ember {

size_t size_of(Dtype t) {
  switch (t) {
    case Dtype::bool_:
    case Dtype::uint8:
    case Dtype::int8: return 1;
    case Dtype::uint16:
    case Dtype::int16:
    case Dtype::float16:
    case Dtype::bfloat16: return 2;
    case Dtype::uint32:
    case Dtype::int32:
    case Dtype::float32: return 4;
    case Dtype::uint64:
    case Dtype::int64:
    case Dtype::float64:
    case Dtype::complex64: return 8;
  }
  return 0;
}

DtypeKind kind_of(Dtype t) {
  switch (t) {
    case Dtype::bool_: return DtypeKind::boolean;
    case Dtype::uint8:
    case Dtype::uint16:
    case Dtype::uint32:
    case Dtype::uint64: return DtypeKind::unsigned_int;
    case Dtype::int8:
    case Dtype::int16:
    case Dtype::int32:
    case Dtype::int64: return DtypeKind::signed_int;
    case Dtype::float16:
    case Dtype::bfloat16:
    case Dtype::float32:
    case Dtype::float64: return DtypeKind::floating;
    case Dtype::complex64: return DtypeKind::complex;
  }
  return DtypeKind::floating;
}

const char* dtype_name(Dtype t) {
  static const char* names[] = {"bool",    "uint8",    "uint16",  "uint32",  "uint64",
                                "int8",    "int16",    "int32",   "int64",   "float16",
                                "bfloat16", "float32", "float64", "complex64"};
  return names[static_cast<int>(t)];
}

bool is_integral(Dtype t) {
  auto k = kind_of(t);
  return k == DtypeKind::unsigned_int || k == DtypeKind::signed_int;
}
bool is_unsigned(Dtype t) { return kind_of(t) == DtypeKind::unsigned_int; }
bool is_floating(Dtype t) { return kind_of(t) == DtypeKind::floating; }
bool is_complex(Dtype t) { return kind_of(t) == DtypeKind::complex; }
bool is_inexact(Dtype t) { return is_floating(t) || is_complex(t); }

const char* category_name(DtypeCategory c) {
  static const char* names[] = {"generic",         "number",  "integer",  "signedinteger",
                                "unsignedinteger", "inexact", "floating", "complexfloating"};
  return names[static_cast<int>(c)];
}

namespace {
// The parent of each category in the tree (generic is the root).
DtypeCategory parent(DtypeCategory c) {
  switch (c) {
    case DtypeCategory::signedinteger:
    case DtypeCategory::unsignedinteger: return DtypeCategory::integer;
    case DtypeCategory::floating:
    case DtypeCategory::complexfloating: return DtypeCategory::inexact;
    case DtypeCategory::integer:
    case DtypeCategory::inexact: return DtypeCategory::number;
    default: return DtypeCategory::generic;
  }
}
}  // namespace

bool issubdtype(DtypeCategory a, DtypeCategory b) {
  while (true) {
    if (a == b) return true;
    if (a == DtypeCategory::generic) return false;
    a = parent(a);
  }
}

bool issubdtype(Dtype t, DtypeCategory c) {
  switch (kind_of(t)) {
    case DtypeKind::boolean: return c == DtypeCategory::generic;
    case DtypeKind::unsigned_int: return issubdtype(DtypeCategory::unsignedinteger, c);
    case DtypeKind::signed_int: return issubdtype(DtypeCategory::signedinteger, c);
    case DtypeKind::floating: return issubdtype(DtypeCategory::floating, c);
    case DtypeKind::complex: return issubdtype(DtypeCategory::complexfloating, c);
  }
  return false;
}

Dtype to_inexact(Dtype t) { return is_inexact(t) ? t : Dtype::float32; }

Dtype promote_types(Dtype a, Dtype b) {
  if (a == b) return a;
  DtypeKind ka = kind_of(a), kb = kind_of(b);
  if (ka > kb || (ka == kb && size_of(a) < size_of(b))) {
    std::swap(a, b);
    std::swap(ka, kb);
  }
  // Now kind(a) <= kind(b), and within one kind size(a) >= size(b).
  if (ka == kb) {
    if (ka == DtypeKind::floating && size_of(a) == size_of(b)) {
      return Dtype::float32;  // float16 with bfloat16
    }
    return a;
  }
  switch (kb) {
    case DtypeKind::complex: return Dtype::complex64;
    case DtypeKind::floating:
      if (ka == DtypeKind::boolean || ka == DtypeKind::unsigned_int ||
          ka == DtypeKind::signed_int) {
        return b;  // integers join a float at the float's width, as in mlx/jax
      }
      return b;
    case DtypeKind::signed_int:
      if (ka == DtypeKind::boolean) return b;
      // unsigned a with signed b: need a signed type wider than a.
      if (size_of(b) > size_of(a)) return b;
      switch (a) {
        case Dtype::uint8: return Dtype::int16;
        case Dtype::uint16: return Dtype::int32;
        case Dtype::uint32: return Dtype::int64;
        default: return Dtype::float32;  // uint64 with any signed int
      }
    case DtypeKind::unsigned_int: return b;  // bool with unsigned
    case DtypeKind::boolean: return a;
  }
  return Dtype::float32;
}

}  // namespace ember
