// The SIMD kernels built for AVX-512 (F, DQ, VL, BW: CMakeLists.txt gives this file the flags);
// used only when the CPU has them (simd.cpp checks at run time).
#include "ember/backend/cpu/simd.h"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512DQ__) && \
    defined(__AVX512VL__) && defined(__AVX512BW__)
#define EMBER_SIMD_NS simd_avx512
#include "ember/backend/cpu/simd_kernels.h"

bool ember::cpu::simd::fill_avx512(Table& t) {
  simd_avx512::fill(t, "avx512");
  return true;
}
#else
bool ember::cpu::simd::fill_avx512(Table&) { return false; }
#endif
