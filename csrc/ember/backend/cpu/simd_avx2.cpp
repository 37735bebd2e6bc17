// The SIMD kernels built for AVX2 + FMA (CMakeLists.txt gives this file -mavx2 -mfma); used
// only when the CPU has them (simd.cpp checks at run time).
#include "ember/backend/cpu/simd.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#define EMBER_SIMD_NS simd_avx2
#include "ember/backend/cpu/simd_kernels.h"

bool ember::cpu::simd::fill_avx2(Table& t) {
  simd_avx2::fill(t, "avx2");
  return true;
}
#else
bool ember::cpu::simd::fill_avx2(Table&) { return false; }
#endif
