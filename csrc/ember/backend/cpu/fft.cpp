// CPU kernel of the FFT primitive: the unnormalized DFT of every line along one
// axis, any length. Powers of two run an iterative radix-2 transform on split
// real / imaginary arrays (the butterflies vectorize) with per-stage twiddle
// tables; other lengths use Bluestein's chirp-z identity, one convolution done
// with power-of-two transforms. Twiddles are computed in double precision.
#include <cmath>
#include <complex>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "ember/backend/cpu/copy.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/primitives/fft.h"

namespace ember {

namespace {

// A radix-2 plan of size n = 2^k: the bit-reversal permutation and, per stage
// of half-width h, the twiddles exp(-i pi j / h), j < h, laid out back to back.
struct Pow2Plan {
  int64_t n = 1;
  std::vector<uint32_t> bitrev;
  std::vector<float> wr, wi;  // stage h starts at offset h - 1
};

std::shared_ptr<const Pow2Plan> make_pow2(int64_t n) {
  auto p = std::make_shared<Pow2Plan>();
  p->n = n;
  int bits = 0;
  while ((int64_t(1) << bits) < n) ++bits;
  p->bitrev.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    uint32_t r = 0;
    for (int b = 0; b < bits; ++b) r |= ((uint32_t(i) >> b) & 1u) << (bits - 1 - b);
    p->bitrev[i] = r;
  }
  p->wr.resize(std::max<int64_t>(n - 1, 1));
  p->wi.resize(std::max<int64_t>(n - 1, 1));
  for (int64_t h = 1; h < n; h *= 2) {
    for (int64_t j = 0; j < h; ++j) {
      double a = -M_PI * double(j) / double(h);
      p->wr[h - 1 + j] = float(std::cos(a));
      p->wi[h - 1 + j] = float(std::sin(a));
    }
  }
  return p;
}

// In-place forward DFT (sign -1) of split arrays re / im in bit-reversed order
// of input already applied. The inverse uses the conjugation identity outside.
void radix2(const Pow2Plan& p, float* re, float* im) {
  const int64_t n = p.n;
  for (int64_t h = 1; h < n; h *= 2) {
    const float* wr = p.wr.data() + h - 1;
    const float* wi = p.wi.data() + h - 1;
    for (int64_t s = 0; s < n; s += 2 * h) {
      float* ar = re + s;
      float* ai = im + s;
      float* br = re + s + h;
      float* bi = im + s + h;
      for (int64_t j = 0; j < h; ++j) {
        const float tr = br[j] * wr[j] - bi[j] * wi[j];
        const float ti = br[j] * wi[j] + bi[j] * wr[j];
        br[j] = ar[j] - tr;
        bi[j] = ai[j] - ti;
        ar[j] = ar[j] + tr;
        ai[j] = ai[j] + ti;
      }
    }
  }
}

// Forward DFT of n complex values x (interleaved) into split re / im (length
// p.n == n), through the bit-reversal permutation.
void pow2_forward(const Pow2Plan& p, const std::complex<float>* x, float* re, float* im) {
  for (int64_t i = 0; i < p.n; ++i) {
    const auto v = x[p.bitrev[i]];
    re[i] = v.real();
    im[i] = v.imag();
  }
  radix2(p, re, im);
}

// Bluestein: X_k = conj(w_k) sum_j (x_j conj(w_j)) w_{k-j} with w_j = exp(i pi j^2 / n),
// a convolution of length m >= 2n - 1 done with power-of-two transforms.
struct BluesteinPlan {
  int64_t n = 0;
  std::shared_ptr<const Pow2Plan> conv;
  std::vector<float> cr, ci;  // conj(w_j) (the chirp applied before and after)
  std::vector<float> br, bi;  // DFT of the padded, wrapped w
};

std::shared_ptr<const Pow2Plan> pow2_plan(int64_t n);

std::shared_ptr<const BluesteinPlan> make_bluestein(int64_t n) {
  auto p = std::make_shared<BluesteinPlan>();
  p->n = n;
  int64_t m = 1;
  while (m < 2 * n - 1) m *= 2;
  p->conv = pow2_plan(m);
  p->cr.resize(n);
  p->ci.resize(n);
  std::vector<std::complex<float>> b(m, 0.0f);
  for (int64_t j = 0; j < n; ++j) {
    // j^2 mod 2n keeps the angle exact for large j.
    const int64_t q = (j * j) % (2 * n);
    const double a = M_PI * double(q) / double(n);
    const std::complex<float> w(float(std::cos(a)), float(std::sin(a)));
    p->cr[j] = w.real();
    p->ci[j] = -w.imag();
    b[j] = w;
    if (j > 0) b[m - j] = w;
  }
  p->br.resize(m);
  p->bi.resize(m);
  pow2_forward(*p->conv, b.data(), p->br.data(), p->bi.data());
  return p;
}

std::mutex plan_mutex;
std::map<int64_t, std::shared_ptr<const Pow2Plan>> pow2_plans;
std::map<int64_t, std::shared_ptr<const BluesteinPlan>> bluestein_plans;

std::shared_ptr<const Pow2Plan> pow2_plan(int64_t n) {
  {
    std::lock_guard<std::mutex> lock(plan_mutex);
    auto it = pow2_plans.find(n);
    if (it != pow2_plans.end()) return it->second;
  }
  auto p = make_pow2(n);
  std::lock_guard<std::mutex> lock(plan_mutex);
  return pow2_plans.emplace(n, p).first->second;
}

std::shared_ptr<const BluesteinPlan> bluestein_plan(int64_t n) {
  {
    std::lock_guard<std::mutex> lock(plan_mutex);
    auto it = bluestein_plans.find(n);
    if (it != bluestein_plans.end()) return it->second;
  }
  auto p = make_bluestein(n);
  std::lock_guard<std::mutex> lock(plan_mutex);
  return bluestein_plans.emplace(n, p).first->second;
}

// Scratch of one thread for one line.
struct Scratch {
  std::vector<float> re, im, tr, ti;
  std::vector<std::complex<float>> line;
};

// Forward DFT of the contiguous line x (n values) into y; inverse = conj(DFT(conj x)).
void dft_line(int64_t n, bool inverse, const Pow2Plan* p2, const BluesteinPlan* bs,
              const std::complex<float>* x, std::complex<float>* y, Scratch& s) {
  const float sign = inverse ? -1.0f : 1.0f;  // conjugates the input and the output
  if (p2) {
    s.re.resize(n);
    s.im.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      const auto v = x[p2->bitrev[i]];
      s.re[i] = v.real();
      s.im[i] = sign * v.imag();
    }
    radix2(*p2, s.re.data(), s.im.data());
    for (int64_t i = 0; i < n; ++i) y[i] = {s.re[i], sign * s.im[i]};
    return;
  }
  const Pow2Plan& c = *bs->conv;
  const int64_t m = c.n;
  s.line.assign(m, 0.0f);
  for (int64_t j = 0; j < n; ++j) {
    const float xr = x[j].real(), xi = sign * x[j].imag();
    s.line[j] = {xr * bs->cr[j] - xi * bs->ci[j], xr * bs->ci[j] + xi * bs->cr[j]};
  }
  s.re.resize(m);
  s.im.resize(m);
  pow2_forward(c, s.line.data(), s.re.data(), s.im.data());
  // Multiply by the chirp's transform, then invert (conjugation trick), / m.
  for (int64_t k = 0; k < m; ++k) {
    const float ar = s.re[k], ai = s.im[k];
    s.line[k] = {ar * bs->br[k] - ai * bs->bi[k], -(ar * bs->bi[k] + ai * bs->br[k])};
  }
  pow2_forward(c, s.line.data(), s.re.data(), s.im.data());
  const float inv_m = 1.0f / float(m);
  for (int64_t k = 0; k < n; ++k) {
    const float vr = s.re[k] * inv_m, vi = -s.im[k] * inv_m;
    const float yr = vr * bs->cr[k] - vi * bs->ci[k];
    const float yi = vr * bs->ci[k] + vi * bs->cr[k];
    y[k] = {yr, sign * yi};
  }
}

}  // namespace

void FFT::eval_cpu(const std::vector<array>& inputs, array& out) {
  array x = cpu::ensure_row_contiguous(inputs[0]);
  out.allocate_row_contiguous();
  const int64_t n = x.shape(axis_);
  if (out.size() == 0) return;
  int64_t inner = 1;
  for (int d = axis_ + 1; d < x.ndim(); ++d) inner *= x.shape(d);
  const int64_t outer = x.size() / (n * inner);
  const bool pow2 = (n & (n - 1)) == 0;
  std::shared_ptr<const Pow2Plan> p2;
  std::shared_ptr<const BluesteinPlan> bs;
  if (pow2) p2 = pow2_plan(n);
  else bs = bluestein_plan(n);
  const auto* src = reinterpret_cast<const std::complex<float>*>(x.data<complex64_t>());
  auto* dst = reinterpret_cast<std::complex<float>*>(out.data<complex64_t>());
  const int64_t lines = outer * inner;
  const int64_t work = std::max<int64_t>(1, n * (pow2 ? 1 : 6));
  cpu::parallel_for(lines, std::max<int64_t>(1, (1 << 15) / work), [&](int64_t b, int64_t e) {
    Scratch s;
    std::vector<std::complex<float>> in, res;
    for (int64_t l = b; l < e; ++l) {
      const int64_t o = l / inner, i = l % inner;
      const int64_t base = o * n * inner + i;
      const std::complex<float>* line = src + base;
      std::complex<float>* target = dst + base;
      if (inner != 1) {
        // Gather the strided line (and scatter the result) through buffers.
        in.resize(n);
        res.resize(n);
        for (int64_t k = 0; k < n; ++k) in[k] = line[k * inner];
        dft_line(n, inverse_, p2.get(), bs.get(), in.data(), res.data(), s);
        for (int64_t k = 0; k < n; ++k) target[k * inner] = res[k];
      } else {
        dft_line(n, inverse_, p2.get(), bs.get(), line, target, s);
      }
    }
  });
}

}  // namespace ember
