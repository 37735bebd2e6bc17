// The baseline build of the SIMD kernels (SSE2 on x86-64, NEON on arm64) and the run-time
// choice of the widest build this CPU can run.
#include "ember/backend/cpu/simd.h"

#include <cstdlib>
#include <cstring>

#define EMBER_SIMD_NS simd_base
#include "ember/backend/cpu/simd_kernels.h"

namespace ember::cpu::simd {

void fill_base(Table& t) { simd_base::fill(t, "base"); }

namespace {

bool cpu_has_avx2() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool cpu_has_avx512() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // The build uses F, DQ, VL and BW (x86-64-v4); libgcc also checks that the OS saves the state.
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw");
#else
  return false;
#endif
}

Table pick() {
  const char* env = std::getenv("EMBER_SIMD");
  const bool allow512 = !env || !*env || !std::strcmp(env, "avx512");
  const bool allow2 = allow512 || !std::strcmp(env, "avx2");
  Table t;
  if (allow512 && cpu_has_avx512() && fill_avx512(t)) return t;
  if (allow2 && cpu_has_avx2() && fill_avx2(t)) return t;
  fill_base(t);
  return t;
}

}  // namespace

const Table& table() {
  static const Table t = pick();
  return t;
}

}  // namespace ember::cpu::simd
