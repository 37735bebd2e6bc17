// Accuracy of the float32 SIMD math (backend/cpu/simd_math.h) over a strided sweep of all 2^32
// float bit patterns (every one with stride 1), in ulps against the float64 C library, plus
// the special values. Build it with the flags of the kernel build to check, e.g.:
//   g++ -std=gnu++20 -O3 -fno-math-errno -fno-trapping-math [-mavx2 -mfma | -mavx512f
//       -mavx512dq -mavx512vl -mavx512bw -mfma] -Icsrc bench/tools/simd_accuracy.cpp -o acc
//   ./acc [stride=31] [function]
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#define EMBER_SIMD_NS check
#include "ember/backend/cpu/simd_math.h"

using namespace ember::cpu::check;

#define LOOP(name, expr)                                                                  \
  __attribute__((noinline)) void name(const float* __restrict x, float* __restrict y,    \
                                      int64_t n) {                                        \
    for (int64_t i = 0; i < n; ++i) {                                                     \
      const float v = x[i];                                                               \
      y[i] = expr;                                                                        \
    }                                                                                     \
  }
LOOP(k_exp, exp_f(v))
LOOP(k_log, log_f(v))
LOOP(k_tanh, tanh_f(v))
LOOP(k_sigmoid, sigmoid_f(v))
LOOP(k_erf, erf_f(v))
LOOP(k_sin, sincos_f(v, 0))
LOOP(k_cos, sincos_f(v, 1))

double r_sigmoid(double x) {
  return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}

double ulp_of(double r) {
  double a = std::fabs(r);
  if (a < 0x1p-126) return 0x1p-149;
  int e;
  std::frexp(a, &e);
  return std::ldexp(1.0, e - 24);
}

int main(int argc, char** argv) {
  struct F {
    const char* name;
    void (*k)(const float*, float*, int64_t);
    double (*r)(double);
    float lim;  // |x| above this is handled elsewhere (sin/cos: the C library)
  } fs[] = {{"exp", k_exp, [](double x) { return std::exp(x); }, 1e38f},
            {"log", k_log, [](double x) { return std::log(x); }, 1e38f},
            {"tanh", k_tanh, [](double x) { return std::tanh(x); }, 1e38f},
            {"sigmoid", k_sigmoid, r_sigmoid, 1e38f},
            {"erf", k_erf, [](double x) { return std::erf(x); }, 1e38f},
            {"sin", k_sin, [](double x) { return std::sin(x); }, kTrigMax},
            {"cos", k_cos, [](double x) { return std::cos(x); }, kTrigMax}};
  const uint64_t stride = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 31;
  const int64_t B = 1 << 20;
  std::vector<float> x(B), y(B);
  for (auto& f : fs) {
    if (argc > 2 && std::strcmp(argv[2], f.name)) continue;
    double maxerr = 0;
    float worst = 0;
    int64_t bad = 0, count = 0;
    for (uint64_t u = 0; u < (1ull << 32);) {
      int64_t m = 0;
      for (; m < B && u < (1ull << 32); ++m, u += stride) {
        const uint32_t b = uint32_t(u);
        std::memcpy(&x[m], &b, 4);
      }
      f.k(x.data(), y.data(), m);
      for (int64_t i = 0; i < m; ++i) {
        const float xi = x[i], yi = y[i];
        if (!(std::fabs(xi) <= f.lim) && !std::isnan(xi)) continue;
        const double r = f.r(xi);
        const float rf = float(r);
        ++count;
        if (!std::isfinite(rf) || !std::isfinite(yi)) {
          const bool ok = std::isnan(rf) ? std::isnan(yi) : yi == rf;
          if (!ok && bad++ < 5) std::printf("  %s(%a) = %a, want %a\n", f.name, xi, yi, rf);
          continue;
        }
        const double err = std::fabs(double(yi) - r) / ulp_of(r);
        if (err > maxerr) {
          maxerr = err;
          worst = xi;
        }
      }
    }
    std::printf("%-8s max %.3f ulp at %a (%g); wrong specials %lld; %lld tested\n", f.name,
                maxerr, worst, worst, (long long)bad, (long long)count);
  }
}
