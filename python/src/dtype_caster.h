// A Dtype argument accepts an ember Dtype and nothing else. nanobind's enum caster would
// also take a plain int in its implicit-conversion pass (astype(3) meaning uint32): this
// full specialization takes it out. Included first by bindings.h and convert.h so that
// every binding file sees it (one definition of the caster in the whole module).
#pragma once

#include <nanobind/nanobind.h>

#include "ember/dtype.h"

namespace nanobind::detail {

template <>
struct type_caster<ember::Dtype> {
  // Flags are uint8_t in nanobind 2 and uint32_t in 3.
  template <typename Flags>
  NB_INLINE bool from_python(handle src, Flags flags, cleanup_list* cleanup) noexcept {
    int64_t result;
    // Without the convert flag: only members of the Dtype enum match.
    flags = Flags(flags & ~Flags(cast_flags::convert));
#if NB_VERSION_MAJOR >= 3
    bool ok = NB_CALL(enum_from_python)(NB_CTX_C(cleanup), &typeid(ember::Dtype), src.ptr(),
                                        &result, flags);
#else
    (void)cleanup;
    bool ok = enum_from_python(&typeid(ember::Dtype), src.ptr(), &result, flags);
#endif
    if (ok) value = ember::Dtype(result);
    return ok;
  }
  NB_INLINE static handle from_cpp(ember::Dtype src, rv_policy, cleanup_list* cleanup) noexcept {
#if NB_VERSION_MAJOR >= 3
    return NB_CALL(enum_from_cpp)(NB_CTX_C(cleanup), &typeid(ember::Dtype), int64_t(src));
#else
    (void)cleanup;
    return enum_from_cpp(&typeid(ember::Dtype), int64_t(src));
#endif
  }
  NB_TYPE_CASTER(ember::Dtype, const_name<ember::Dtype>())
};

}  // namespace nanobind::detail
