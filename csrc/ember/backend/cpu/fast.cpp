// CPU kernels of the fast primitives but attention (fast_attention.cpp): rms_norm and
// layer_norm with their one-pass backward, rope, cross entropy forward and backward, the
// gated delta rule forward and backward, and custom kernels (which need a GPU). Rows are
// independent and split across ember's pool; 16-bit data is converted a row at a time and
// everything accumulates in float32 (float64 for float64 data).
#include <cmath>
#include <map>
#include <vector>

#include "ember/backend/cpu/copy.h"
#include "ember/backend/cpu/elementwise.h"
#include "ember/backend/cpu/fast_kernels.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/primitives/fast.h"

namespace ember {

using cpu::fast::acc_t;
using cpu::fast::dispatch_float;
using cpu::fast::dot_of;
using cpu::fast::load_row;
using cpu::fast::store_row;
using cpu::fast::sum_of;

namespace {

int64_t prod(const Shape& s, int begin, int end) {
  int64_t n = 1;
  for (int i = begin; i < end; ++i) n *= s[i];
  return n;
}

// A row of T as A: the row itself when the types agree, else converted into buf.
template <typename T, typename A>
const A* row_as(const T* x, int64_t n, std::vector<A>& buf) {
  if constexpr (std::is_same_v<T, A>) {
    return x;
  } else {
    buf.resize(static_cast<size_t>(n));
    load_row(x, buf.data(), n);
    return buf.data();
  }
}

// How the rows of a normalization split into tasks: groups (rows sharing a weight and a
// weight gradient) times chunks of each group's rows. The split depends only on the
// shapes, so the gradient sums are the same whatever the thread count.
struct RowPlan {
  int64_t d = 0, rows = 0, groups = 1, per_group = 0, chunks = 1, chunk_rows = 0;
  RowPlan(const array& x, int group_dims) {
    d = x.shape(-1);
    rows = d ? x.size() / d : 0;
    groups = prod(x.shape(), 0, group_dims);
    per_group = groups ? rows / groups : 0;
    // Enough chunks to keep the pool busy, few enough that the partial sums stay small.
    const int64_t cap = std::max<int64_t>(1, (int64_t(1) << 22) / std::max<int64_t>(1, groups * d));
    chunks = std::max<int64_t>(1, std::min<int64_t>({(per_group + 31) / 32, 64, cap}));
    chunk_rows = (per_group + chunks - 1) / std::max<int64_t>(chunks, 1);
  }
  int64_t tasks() const { return groups * chunks; }
  // Rows [begin, end) of task t.
  std::pair<int64_t, int64_t> range(int64_t t) const {
    const int64_t g = t / chunks, c = t % chunks;
    const int64_t b = std::min(per_group, c * chunk_rows), e = std::min(per_group, b + chunk_rows);
    return {g * per_group + b, g * per_group + e};
  }
  int64_t grain() const { return std::max<int64_t>(1, cpu::kParallelGrain / 4 / std::max<int64_t>(1, d * chunk_rows)); }
};

// Sums the tasks' partial weight gradients (chunks x d per group) into out (groups x d).
template <typename T, typename A>
void reduce_partials(const RowPlan& p, const std::vector<A>& partial, T* out) {
  std::vector<A> s(static_cast<size_t>(p.d));
  for (int64_t g = 0; g < p.groups; ++g) {
    std::fill(s.begin(), s.end(), A(0));
    for (int64_t c = 0; c < p.chunks; ++c) {
      const A* src = partial.data() + (g * p.chunks + c) * p.d;
      for (int64_t j = 0; j < p.d; ++j) s[j] += src[j];
    }
    store_row(s.data(), out + g * p.d, p.d);
  }
}

// Normalization statistics of one row: the scale r (1 / rms or 1 / std) and the mean.
template <typename A>
void rms_stats(const A* x, int64_t d, float eps, A& r) {
  r = A(1) / std::sqrt(dot_of(x, x, d) / A(d) + A(eps));
}
// sum((x - mu)^2) with 16 partial sums (vectorized; two passes keep the variance exact
// when the mean is large).
template <typename A>
A centered_squares(const A* x, A mu, int64_t n) {
  A acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int j = 0; j < 16; ++j) acc[j] += (x[i + j] - mu) * (x[i + j] - mu);
  }
  A s = 0;
  for (int j = 0; j < 16; ++j) s += acc[j];
  for (; i < n; ++i) s += (x[i] - mu) * (x[i] - mu);
  return s;
}
template <typename A>
void ln_stats(const A* x, int64_t d, float eps, A& mu, A& r, std::vector<A>& centered) {
  mu = sum_of(x, d) / A(d);
  centered.resize(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; ++j) centered[j] = x[j] - mu;
  r = A(1) / std::sqrt(dot_of(centered.data(), centered.data(), d) / A(d) + A(eps));
}

// y = n * w + b for one row, n = (x - mu) r; w, b may be null.
template <typename T, typename A>
void norm_forward(const array& x_in, const array* w_in, const array* b_in, bool layer,
                  const NormParams& np, array& out) {
  const float eps = np.eps;
  array x = cpu::ensure_row_contiguous(x_in);
  array w = w_in ? cpu::ensure_row_contiguous(*w_in) : array();
  array b = b_in ? cpu::ensure_row_contiguous(*b_in) : array();
  out.allocate_row_contiguous();
  RowPlan p(x, np.groups);
  if (p.rows == 0 || p.d == 0) return;
  const T* xs = x.data<T>();
  T* ys = out.data<T>();
  const int64_t d = p.d;
  cpu::parallel_for(p.tasks(), p.grain(), [&](int64_t t0, int64_t t1) {
    std::vector<A> xb, wb, bb, yb(static_cast<size_t>(d));
    int64_t loaded = -1;  // the group whose weight and bias are in wb / bb
    const A *wr = nullptr, *br = nullptr;
    for (int64_t t = t0; t < t1; ++t) {
      auto [r0, r1] = p.range(t);
      const int64_t g = t / p.chunks;
      if (g != loaded) {
        if (w.valid()) wr = row_as(w.data<T>() + g * d, d, wb);
        if (b.valid()) br = row_as(b.data<T>() + g * d, d, bb);
        loaded = g;
      }
      for (int64_t r = r0; r < r1; ++r) {
        const A* xr = row_as(xs + r * d, d, xb);
        A scale, mu = 0;
        if (layer) {
          mu = sum_of(xr, d) / A(d);
          scale = A(1) / std::sqrt(centered_squares(xr, mu, d) / A(d) + A(eps));
        } else {
          rms_stats(xr, d, eps, scale);
        }
        // float32 rows are written in place; 16-bit ones through yb
        A* y = std::is_same_v<T, A> ? reinterpret_cast<A*>(ys + r * d) : yb.data();
        if (wr && br) {
          for (int64_t j = 0; j < d; ++j) y[j] = (xr[j] - mu) * scale * wr[j] + br[j];
        } else if (wr) {
          for (int64_t j = 0; j < d; ++j) y[j] = (xr[j] - mu) * scale * wr[j];
        } else if (br) {
          for (int64_t j = 0; j < d; ++j) y[j] = (xr[j] - mu) * scale + br[j];
        } else {
          for (int64_t j = 0; j < d; ++j) y[j] = (xr[j] - mu) * scale;
        }
        if constexpr (!std::is_same_v<T, A>) store_row(y, ys + r * d, d);
      }
    }
  });
}

// One pass per row: dx, and the rows' contributions to dw (sum c n) and db (sum c).
template <typename T, typename A>
void norm_backward(const std::vector<array>& inputs, bool layer, const NormParams& np,
                   std::vector<array>& outputs) {
  const float eps = np.eps;
  array x = cpu::ensure_row_contiguous(inputs[0]);
  array w = np.has_weight ? cpu::ensure_row_contiguous(inputs[1]) : array();
  array c = cpu::ensure_row_contiguous(inputs.back());
  for (auto& o : outputs) o.allocate_row_contiguous();
  RowPlan p(x, np.groups);
  const int64_t d = p.d;
  const bool want_dw = np.has_weight, want_db = layer && np.has_bias;
  std::vector<A> pdw(want_dw ? size_t(p.tasks() * d) : 0, A(0));
  std::vector<A> pdb(want_db ? size_t(p.tasks() * d) : 0, A(0));
  if (p.rows > 0 && d > 0) {
    const T* xs = x.data<T>();
    const T* cs = c.data<T>();
    T* dxs = outputs[0].data<T>();
    cpu::parallel_for(p.tasks(), p.grain(), [&](int64_t t0, int64_t t1) {
      std::vector<A> xb, cb, wb, dn(static_cast<size_t>(d)), dx(static_cast<size_t>(d)), centered;
      for (int64_t t = t0; t < t1; ++t) {
        auto [r0, r1] = p.range(t);
        const int64_t g = t / p.chunks;
        const A* wr = w.valid() ? row_as(w.data<T>() + g * d, d, wb) : nullptr;
        A* dw = want_dw ? pdw.data() + t * d : nullptr;
        A* db = want_db ? pdb.data() + t * d : nullptr;
        for (int64_t r = r0; r < r1; ++r) {
          const A* xr = row_as(xs + r * d, d, xb);
          const A* cr = row_as(cs + r * d, d, cb);
          A scale, mu = 0;
          const A* src = xr;  // x (rms) or x - mean (layer); n = src * scale
          if (layer) {
            ln_stats(xr, d, eps, mu, scale, centered);
            src = centered.data();
          } else {
            rms_stats(xr, d, eps, scale);
          }
          for (int64_t j = 0; j < d; ++j) dn[j] = wr ? cr[j] * wr[j] : cr[j];
          // mean(dn n) = scale * mean(dn src)
          const A dn_n = scale * dot_of(dn.data(), src, d) / A(d);
          if (layer) {
            const A dn_mean = sum_of(dn.data(), d) / A(d);
            for (int64_t j = 0; j < d; ++j) dx[j] = scale * (dn[j] - dn_mean - src[j] * scale * dn_n);
          } else {
            for (int64_t j = 0; j < d; ++j) dx[j] = scale * (dn[j] - src[j] * scale * dn_n);
          }
          store_row(dx.data(), dxs + r * d, d);
          if (dw) {
            for (int64_t j = 0; j < d; ++j) dw[j] += cr[j] * src[j] * scale;
          }
          if (db) {
            for (int64_t j = 0; j < d; ++j) db[j] += cr[j];
          }
        }
      }
    });
  }
  size_t k = 1;
  if (want_dw) reduce_partials<T, A>(p, pdw, outputs[k++].data<T>());
  if (want_db) reduce_partials<T, A>(p, pdb, outputs[k++].data<T>());
}

}  // namespace

// ---- RMSNorm / LayerNorm -------------------------------------------------------------
void RMSNorm::eval_cpu(const std::vector<array>& inputs, array& out) {
  dispatch_float("rms_norm", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    norm_forward<T, acc_t<T>>(inputs[0], params_.has_weight ? &inputs[1] : nullptr, nullptr, false,
                              params_, out);
  });
}

void RMSNormVJP::eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) {
  dispatch_float("rms_norm", inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    norm_backward<T, acc_t<T>>(inputs, false, params_, outputs);
  });
}

void LayerNorm::eval_cpu(const std::vector<array>& inputs, array& out) {
  dispatch_float("layer_norm", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    size_t i = 1;
    const array* w = params_.has_weight ? &inputs[i++] : nullptr;
    const array* b = params_.has_bias ? &inputs[i++] : nullptr;
    norm_forward<T, acc_t<T>>(inputs[0], w, b, true, params_, out);
  });
}

void LayerNormVJP::eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) {
  dispatch_float("layer_norm", inputs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    norm_backward<T, acc_t<T>>(inputs, true, params_, outputs);
  });
}

// ---- RoPE -------------------------------------------------------------------------------
namespace {

// cos / sin of (position * scale * inv_freq[i]) for T positions from `first`. The angle is
// formed and reduced to [-pi, pi] in double (positions can be large), then float tables use
// the SIMD sin / cos (accurate to about an ulp there); double tables use the C library.
template <typename A>
void rope_table(int64_t first, int64_t T, const std::vector<double>& inv_freq, double scale,
                A* cos_t, A* sin_t) {
  const int64_t half = int64_t(inv_freq.size());
  const double two_pi = 2 * M_PI, inv_two_pi = 1 / (2 * M_PI);
  for (int64_t t = 0; t < T; ++t) {
    const double pos = double(first + t) * scale;
    A* c = cos_t + t * half;
    A* s = sin_t + t * half;
    for (int64_t i = 0; i < half; ++i) {
      const double th = pos * inv_freq[i];
      c[i] = A(th - two_pi * std::nearbyint(th * inv_two_pi));
    }
    if constexpr (std::is_same_v<A, float>) {
      cpu::simd::unary_fn(cpu::simd::Unary::Sin)(c, s, half);
      cpu::simd::unary_fn(cpu::simd::Unary::Cos)(c, c, half);
    } else {
      for (int64_t i = 0; i < half; ++i) {
        s[i] = std::sin(c[i]);
        c[i] = std::cos(c[i]);
      }
    }
  }
}

// Rotates one row (d values, the first `dims` in pairs) by the angles of one position.
template <typename A>
void rope_row(const A* x, A* y, int64_t d, int64_t dims, bool traditional, const A* c,
              const A* s, A sign) {
  const int64_t half = dims / 2;
  if (traditional) {
    for (int64_t i = 0; i < half; ++i) {
      const A a = x[2 * i], b = x[2 * i + 1], sn = sign * s[i];
      y[2 * i] = a * c[i] - b * sn;
      y[2 * i + 1] = a * sn + b * c[i];
    }
  } else {
    for (int64_t i = 0; i < half; ++i) {
      const A a = x[i], b = x[i + half], sn = sign * s[i];
      y[i] = a * c[i] - b * sn;
      y[i + half] = a * sn + b * c[i];
    }
  }
  for (int64_t j = dims; j < d; ++j) y[j] = x[j];
}

template <typename T>
void rope_eval(const std::vector<array>& inputs, array& out, const RopeParams& p) {
  const int dims = p.dims;
  const bool traditional = p.traditional;
  const double scale = p.scale;
  using A = acc_t<T>;
  array a = cpu::ensure_row_contiguous(inputs[0]);
  array off = cpu::ensure_row_contiguous(inputs[1]);
  out.allocate_row_contiguous();
  const int64_t d = a.shape(-1), T_ = a.shape(-2);
  const int64_t planes = (d && T_) ? a.size() / (d * T_) : 0;
  if (planes == 0) return;
  const int64_t half = dims / 2;
  std::vector<double> inv_freq(static_cast<size_t>(half));
  if (p.base) {
    for (int64_t i = 0; i < half; ++i) inv_freq[i] = std::pow(*p.base, -2.0 * double(i) / dims);
  } else {
    array f = cpu::ensure_row_contiguous(inputs[2]);
    for (int64_t i = 0; i < half; ++i) {
      inv_freq[i] = 1.0 / (f.dtype() == Dtype::float64 ? f.data<double>()[i] : double(f.data<float>()[i]));
    }
  }
  const int32_t* offs = off.data<int32_t>();
  const A sign = p.inverse ? A(-1) : A(1);
  const T* xs = a.data<T>();
  T* ys = out.data<T>();
  bool uniform = true;
  for (int64_t l = 1; l < planes && uniform; ++l) uniform = offs[l] == offs[0];
  // One table shared by every plane (one offset), or one per task, remade when a plane's
  // offset differs from the last one it made (per-example offsets repeat over heads).
  std::vector<A> shared_c, shared_s;
  if (uniform) {
    shared_c.resize(static_cast<size_t>(T_ * half));
    shared_s.resize(static_cast<size_t>(T_ * half));
    cpu::parallel_for(T_, std::max<int64_t>(1, cpu::kParallelGrainCostly / std::max<int64_t>(1, half)),
                      [&](int64_t t0, int64_t t1) {
                        rope_table(offs[0] + t0, t1 - t0, inv_freq, scale,
                                   shared_c.data() + t0 * half, shared_s.data() + t0 * half);
                      });
  }
  const int64_t rows = planes * T_;
  cpu::parallel_for(rows, std::max<int64_t>(1, cpu::kParallelGrain / 4 / d), [&](int64_t r0, int64_t r1) {
    std::vector<A> xb(static_cast<size_t>(d)), yb(static_cast<size_t>(d)), own_c, own_s;
    int64_t own_offset = 0;
    bool own_made = false;
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t l = r / T_, t = r % T_;
      const A *c, *s;
      if (uniform) {
        c = shared_c.data() + t * half;
        s = shared_s.data() + t * half;
      } else {
        if (!own_made || own_offset != offs[l]) {
          own_c.resize(static_cast<size_t>(T_ * half));
          own_s.resize(static_cast<size_t>(T_ * half));
          rope_table(offs[l], T_, inv_freq, scale, own_c.data(), own_s.data());
          own_offset = offs[l];
          own_made = true;
        }
        c = own_c.data() + t * half;
        s = own_s.data() + t * half;
      }
      if constexpr (std::is_same_v<T, A>) {
        rope_row(xs + r * d, ys + r * d, d, dims, traditional, c, s, sign);
      } else {
        load_row(xs + r * d, xb.data(), d);
        rope_row(xb.data(), yb.data(), d, dims, traditional, c, s, sign);
        store_row(yb.data(), ys + r * d, d);
      }
    }
  });
}

}  // namespace

void RoPE::eval_cpu(const std::vector<array>& inputs, array& out) {
  dispatch_float("rope", out.dtype(), [&](auto tag) {
    rope_eval<decltype(tag)>(inputs, out, params_);
  });
}

// ---- cross entropy --------------------------------------------------------------------------
namespace {

// The class a target picks (negative ones count from the end), or -1 outside [-C, C).
inline int64_t target_class(int32_t t, int64_t c) {
  int64_t i = t < 0 ? int64_t(t) + c : int64_t(t);
  return (i >= 0 && i < c) ? i : -1;
}

// logsumexp of a row, with buf holding exp(x - max) afterwards.
template <typename A>
A row_logsumexp(const A* x, int64_t c, std::vector<A>& buf) {
  const A m = cpu::fast::max_of(x, c);
  if (!std::isfinite(m)) return m;  // all -inf (or an inf / nan): the sum would be nan
  buf.resize(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; ++j) buf[j] = x[j] - m;
  cpu::fast::exp_inplace(buf.data(), c);
  return m + std::log(sum_of(buf.data(), c));
}

}  // namespace

void CrossEntropy::eval_cpu(const std::vector<array>& inputs, array& out) {
  array x = cpu::ensure_row_contiguous(inputs[0]);
  array t = cpu::ensure_row_contiguous(inputs[1]);
  out.allocate_row_contiguous();
  const int64_t c = x.shape(-1), rows = t.size();
  if (rows == 0) return;
  dispatch_float("cross_entropy", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = acc_t<T>;
    const T* xs = x.data<T>();
    const int32_t* ts = t.data<int32_t>();
    A* ys = out.data<A>();
    cpu::parallel_for(rows, std::max<int64_t>(1, cpu::kParallelGrainCostly / std::max<int64_t>(1, c)),
                      [&](int64_t r0, int64_t r1) {
                        std::vector<A> xb, eb;
                        for (int64_t r = r0; r < r1; ++r) {
                          const A* xr = row_as(xs + r * c, c, xb);
                          const A lse = c ? row_logsumexp(xr, c, eb) : -std::numeric_limits<A>::infinity();
                          const int64_t k = target_class(ts[r], c);
                          ys[r] = lse - (k >= 0 ? xr[k] : A(0));
                        }
                      });
  });
}

void CrossEntropyVJP::eval_cpu(const std::vector<array>& inputs, array& out) {
  array x = cpu::ensure_row_contiguous(inputs[0]);
  array t = cpu::ensure_row_contiguous(inputs[1]);
  array g = cpu::ensure_row_contiguous(inputs[2]);
  out.allocate_row_contiguous();
  const int64_t c = x.shape(-1), rows = t.size();
  if (rows == 0 || c == 0) return;
  dispatch_float("cross_entropy", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = acc_t<T>;
    const T* xs = x.data<T>();
    const int32_t* ts = t.data<int32_t>();
    const A* gs = g.data<A>();
    T* dx = out.data<T>();
    cpu::parallel_for(rows, std::max<int64_t>(1, cpu::kParallelGrainCostly / c), [&](int64_t r0, int64_t r1) {
      std::vector<A> xb, eb, yb(static_cast<size_t>(c));
      for (int64_t r = r0; r < r1; ++r) {
        const A* xr = row_as(xs + r * c, c, xb);
        const A m = cpu::fast::max_of(xr, c);
        eb.resize(static_cast<size_t>(c));
        for (int64_t j = 0; j < c; ++j) eb[j] = xr[j] - m;
        cpu::fast::exp_inplace(eb.data(), c);
        // softmax * g, then - g at the target
        const A scale = gs[r] / sum_of(eb.data(), c);
        for (int64_t j = 0; j < c; ++j) yb[j] = eb[j] * scale;
        const int64_t k = target_class(ts[r], c);
        if (k >= 0) yb[k] -= gs[r];
        store_row(yb.data(), dx + r * c, c);
      }
    });
  });
}

// ---- gated delta rule ---------------------------------------------------------------------------
namespace {

// The gated delta inputs (row-contiguous), their sizes, and one head's decay-and-read step.
template <typename A>
struct DeltaLayout {
  std::vector<array> in;
  int64_t B, T, Hk, Dk, Hv, Dv, rep;
  bool vec;           // gamma scales each key feature (B, T, Hv, Dk)
  const bool* mask;   // (B, T) or null
  DeltaLayout(const std::vector<array>& inputs, std::vector<array>& outputs, bool has_mask) {
    for (auto& a : inputs) in.push_back(cpu::ensure_row_contiguous(a));
    for (auto& o : outputs) o.allocate_row_contiguous();
    B = in[0].shape(0), T = in[0].shape(1), Hk = in[0].shape(2), Dk = in[0].shape(3);
    Hv = in[2].shape(2), Dv = in[2].shape(3), rep = Hv / Hk;
    vec = in[3].ndim() == 4;
    mask = has_mask ? in[6].data<bool>() : nullptr;
  }
  // S (Dv x Dk) <- S * g (per column j: g[j], or one g); u = S k.
  static void decay_and_read(A* S, int64_t dv, int64_t dk, const A* g, bool vec, const A* k, A* u) {
    for (int64_t i = 0; i < dv; ++i) {
      A* row = S + i * dk;
      if (vec) {
        for (int64_t j = 0; j < dk; ++j) row[j] *= g[j];
      } else {
        const A s = g[0];
        for (int64_t j = 0; j < dk; ++j) row[j] *= s;
      }
      u[i] = dot_of(row, k, dk);
    }
  }
};

template <typename T>
void gated_delta_forward(const std::vector<array>& inputs, std::vector<array>& outputs, bool has_mask) {
  using A = acc_t<T>;
  const DeltaLayout<A> lay(inputs, outputs, has_mask);
  const std::vector<array>& in = lay.in;
  const array &q = in[0], &k = in[1], &v = in[2], &gamma = in[3], &beta = in[4], &state = in[5];
  const int64_t B = lay.B, T_ = lay.T, Hk = lay.Hk, Dk = lay.Dk, Hv = lay.Hv, Dv = lay.Dv, rep = lay.rep;
  const bool vec = lay.vec;
  const bool* mask = lay.mask;
  T* ys = outputs[0].data<T>();
  A* s_out = outputs[1].data<A>();
  const int64_t sd = Dv * Dk;
  cpu::parallel_for(B * Hv, 1, [&](int64_t h0, int64_t h1) {
    std::vector<A> qb(static_cast<size_t>(Dk)), kb(static_cast<size_t>(Dk)), vb(static_cast<size_t>(Dv)), u(static_cast<size_t>(Dv)), y(static_cast<size_t>(Dv));
    for (int64_t bh = h0; bh < h1; ++bh) {
      const int64_t b = bh / Hv, h = bh % Hv, hk = h / rep;
      A* S = s_out + bh * sd;
      std::memcpy(S, state.data<A>() + bh * sd, size_t(sd) * sizeof(A));
      for (int64_t t = 0; t < T_; ++t) {
        T* yt = ys + ((b * T_ + t) * Hv + h) * Dv;
        if (mask && !mask[b * T_ + t]) {
          std::fill(y.begin(), y.end(), A(0));
          store_row(y.data(), yt, Dv);
          continue;
        }
        const int64_t qk = ((b * T_ + t) * Hk + hk) * Dk;
        load_row(q.data<T>() + qk, qb.data(), Dk);
        load_row(k.data<T>() + qk, kb.data(), Dk);
        load_row(v.data<T>() + ((b * T_ + t) * Hv + h) * Dv, vb.data(), Dv);
        const int64_t gi = (b * T_ + t) * Hv + h;
        const A* g = gamma.data<A>() + (vec ? gi * Dk : gi);
        const A bt = beta.data<A>()[gi];
        DeltaLayout<A>::decay_and_read(S, Dv, Dk, g, vec, kb.data(), u.data());
        for (int64_t i = 0; i < Dv; ++i) {
          const A delta = bt * (vb[i] - u[i]);
          A* row = S + i * Dk;
          for (int64_t j = 0; j < Dk; ++j) row[j] += delta * kb[j];
          y[i] = dot_of(row, qb.data(), Dk);
        }
        store_row(y.data(), yt, Dv);
      }
    }
  });
}

// Backpropagation through time for one (batch, value head), states recomputed from
// checkpoints kept every `every` steps. For a step with S the state before it:
//   S' = S o G, u = S' k, delta = beta (v - u), S+ = S' + delta k^T, y = S+ q
// and with dS the cotangent of S+ (plus dy q^T):
//   dq = S+^T dy, d delta = dS k, dk = dS^T delta + S'^T du, du = -beta d delta,
//   dbeta = d delta . (v - u), dv = beta d delta, dS' = dS + du k^T,
//   dG = dS' o S (summed over rows, and over columns for a scalar gamma), dS <- dS' o G.
template <typename T>
void gated_delta_backward(const std::vector<array>& inputs, std::vector<array>& outputs, bool has_mask) {
  using A = acc_t<T>;
  const DeltaLayout<A> lay(inputs, outputs, has_mask);
  const std::vector<array>& in = lay.in;
  const array &q = in[0], &k = in[1], &v = in[2], &gamma = in[3], &beta = in[4], &state = in[5];
  const size_t ci = has_mask ? 7 : 6;
  const array &dy = in[ci], &dfinal = in[ci + 1];
  const int64_t B = lay.B, T_ = lay.T, Hk = lay.Hk, Dk = lay.Dk, Hv = lay.Hv, Dv = lay.Dv, rep = lay.rep;
  const bool vec = lay.vec;
  const bool* mask = lay.mask;
  const int64_t sd = Dv * Dk;
  const int64_t every = std::max<int64_t>(1, int64_t(std::ceil(std::sqrt(double(std::max<int64_t>(T_, 1))))));
  // q and k gradients per value head, summed over each key head's group at the end.
  std::vector<A> dq_h(static_cast<size_t>(B * T_ * Hv * Dk), A(0)), dk_h(static_cast<size_t>(B * T_ * Hv * Dk), A(0));
  T* dvs = outputs[2].data<T>();
  A* dgs = outputs[3].data<A>();
  A* dbs = outputs[4].data<A>();
  A* dss = outputs[5].data<A>();
  cpu::parallel_for(B * Hv, 1, [&](int64_t h0, int64_t h1) {
    std::vector<A> qb(static_cast<size_t>(Dk)), kb(static_cast<size_t>(Dk)), vb(static_cast<size_t>(Dv)), u(static_cast<size_t>(Dv)), dyb(static_cast<size_t>(Dv));
    std::vector<A> dd(static_cast<size_t>(Dv)), du(static_cast<size_t>(Dv)), Sp(static_cast<size_t>(sd)), dS(static_cast<size_t>(sd)), gacc(static_cast<size_t>(Dk));
    std::vector<A> checkpoints, seg;
    for (int64_t bh = h0; bh < h1; ++bh) {
      const int64_t b = bh / Hv, h = bh % Hv, hk = h / rep;
      auto active = [&](int64_t t) { return !mask || mask[b * T_ + t]; };
      auto load_step = [&](int64_t t) {
        const int64_t qk = ((b * T_ + t) * Hk + hk) * Dk;
        load_row(q.data<T>() + qk, qb.data(), Dk);
        load_row(k.data<T>() + qk, kb.data(), Dk);
        load_row(v.data<T>() + ((b * T_ + t) * Hv + h) * Dv, vb.data(), Dv);
      };
      auto g_of = [&](int64_t t) {
        const int64_t gi = (b * T_ + t) * Hv + h;
        return gamma.data<A>() + (vec ? gi * Dk : gi);
      };
      // S <- step t applied to S (u, the read-out before the update, left in u).
      auto advance = [&](A* S, int64_t t) {
        if (!active(t)) return;
        load_step(t);
        DeltaLayout<A>::decay_and_read(S, Dv, Dk, g_of(t), vec, kb.data(), u.data());
        const A bt = beta.data<A>()[(b * T_ + t) * Hv + h];
        for (int64_t i = 0; i < Dv; ++i) {
          const A delta = bt * (vb[i] - u[i]);
          A* row = S + i * Dk;
          for (int64_t j = 0; j < Dk; ++j) row[j] += delta * kb[j];
        }
      };
      // Forward once, keeping the state before every `every`-th step.
      const int64_t nck = (T_ + every - 1) / every;
      checkpoints.resize(static_cast<size_t>(std::max<int64_t>(nck, 1) * sd));
      std::vector<A> S(state.data<A>() + bh * sd, state.data<A>() + (bh + 1) * sd);
      for (int64_t t = 0; t < T_; ++t) {
        if (t % every == 0) std::memcpy(checkpoints.data() + (t / every) * sd, S.data(), size_t(sd) * sizeof(A));
        advance(S.data(), t);
      }
      std::memcpy(dS.data(), dfinal.data<A>() + bh * sd, size_t(sd) * sizeof(A));
      seg.resize(static_cast<size_t>(every * sd));
      for (int64_t c = nck - 1; c >= 0; --c) {
        const int64_t t0 = c * every, t1 = std::min(T_, t0 + every);
        // States before each step of the segment.
        std::memcpy(seg.data(), checkpoints.data() + c * sd, size_t(sd) * sizeof(A));
        for (int64_t t = t0; t + 1 < t1; ++t) {
          std::memcpy(seg.data() + (t - t0 + 1) * sd, seg.data() + (t - t0) * sd, size_t(sd) * sizeof(A));
          advance(seg.data() + (t - t0 + 1) * sd, t);
        }
        for (int64_t t = t1 - 1; t >= t0; --t) {
          const int64_t gi = (b * T_ + t) * Hv + h;
          A* dq = dq_h.data() + gi * Dk;
          A* dk = dk_h.data() + gi * Dk;
          T* dvt = dvs + gi * Dv;
          A* dg = dgs + (vec ? gi * Dk : gi);
          if (!active(t)) {
            std::fill(dd.begin(), dd.end(), A(0));
            store_row(dd.data(), dvt, Dv);
            if (vec) std::fill(dg, dg + Dk, A(0));
            else dg[0] = 0;
            dbs[gi] = 0;
            continue;
          }
          const A* S0 = seg.data() + (t - t0) * sd;
          load_step(t);
          load_row(dy.data<T>() + gi * Dv, dyb.data(), Dv);
          const A* g = g_of(t);
          const A bt = beta.data<A>()[gi];
          // S' and u = S' k
          std::memcpy(Sp.data(), S0, size_t(sd) * sizeof(A));
          DeltaLayout<A>::decay_and_read(Sp.data(), Dv, Dk, g, vec, kb.data(), u.data());
          // dq = S+^T dy with S+ = S' + delta k^T; dS += dy q^T; d delta = dS k
          A dbeta = 0;
          for (int64_t i = 0; i < Dv; ++i) {
            const A vmu = vb[i] - u[i];
            const A delta = bt * vmu;
            const A* sp = Sp.data() + i * Dk;
            A* ds = dS.data() + i * Dk;
            const A dyi = dyb[i];
            for (int64_t j = 0; j < Dk; ++j) {
              dq[j] += (sp[j] + delta * kb[j]) * dyi;
              ds[j] += dyi * qb[j];
            }
            const A ddi = dot_of(ds, kb.data(), Dk);
            dd[i] = bt * ddi;  // dv
            du[i] = -bt * ddi;
            dbeta += ddi * vmu;
            for (int64_t j = 0; j < Dk; ++j) dk[j] += ds[j] * delta;
          }
          store_row(dd.data(), dvt, Dv);
          dbs[gi] = dbeta;
          // dS' = dS + du k^T; dk += S'^T du; dG = dS' o S; dS = dS' o G
          std::fill(gacc.begin(), gacc.end(), A(0));
          for (int64_t i = 0; i < Dv; ++i) {
            const A* sp = Sp.data() + i * Dk;
            const A* s0 = S0 + i * Dk;
            A* ds = dS.data() + i * Dk;
            const A dui = du[i];
            for (int64_t j = 0; j < Dk; ++j) {
              dk[j] += sp[j] * dui;
              ds[j] += dui * kb[j];
              gacc[j] += ds[j] * s0[j];
              ds[j] *= vec ? g[j] : g[0];
            }
          }
          if (vec) std::copy(gacc.begin(), gacc.end(), dg);
          else dg[0] = sum_of(gacc.data(), Dk);
        }
      }
      std::memcpy(dss + bh * sd, dS.data(), size_t(sd) * sizeof(A));
    }
  });
  // dq, dk: sum the value heads of each key head.
  T* dqs = outputs[0].data<T>();
  T* dks = outputs[1].data<T>();
  std::vector<A> accq(static_cast<size_t>(Dk)), acck(static_cast<size_t>(Dk));
  for (int64_t bt = 0; bt < B * T_; ++bt) {
    for (int64_t hk = 0; hk < Hk; ++hk) {
      std::fill(accq.begin(), accq.end(), A(0));
      std::fill(acck.begin(), acck.end(), A(0));
      for (int64_t r = 0; r < rep; ++r) {
        const A* sq = dq_h.data() + (bt * Hv + hk * rep + r) * Dk;
        const A* sk = dk_h.data() + (bt * Hv + hk * rep + r) * Dk;
        for (int64_t j = 0; j < Dk; ++j) {
          accq[j] += sq[j];
          acck[j] += sk[j];
        }
      }
      store_row(accq.data(), dqs + (bt * Hk + hk) * Dk, Dk);
      store_row(acck.data(), dks + (bt * Hk + hk) * Dk, Dk);
    }
  }
}

}  // namespace

void GatedDeltaUpdate::eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) {
  dispatch_float("gated_delta_update", outputs[0].dtype(), [&](auto tag) {
    gated_delta_forward<decltype(tag)>(inputs, outputs, params_.has_mask);
  });
}

void GatedDeltaUpdateVJP::eval_cpu_multi(const std::vector<array>& inputs, std::vector<array>& outputs) {
  dispatch_float("gated_delta_update", inputs[0].dtype(), [&](auto tag) {
    gated_delta_backward<decltype(tag)>(inputs, outputs, params_.has_mask);
  });
}

// ---- custom kernels ------------------------------------------------------------------------------
void CustomKernel::eval_cpu_multi(const std::vector<array>&, std::vector<array>&) {
  if (spec_.backend == "metal") {
    throw std::invalid_argument(msg("[metal_kernel] Metal is not supported by ember: the kernel '",
                                    spec_.name, "' cannot run."));
  }
  const char* op = spec_.backend == "cuda" ? "cuda_kernel" : "precompiled_cuda_kernel";
#if defined(EMBER_GPU_KERNELS)
  throw std::invalid_argument(msg("[", op, "] Custom CUDA kernels are not supported by ember's CUDA ",
                                  "backend yet (the kernel '", spec_.name, "' cannot run)."));
#else
  throw std::invalid_argument(msg("[", op, "] needs the CUDA backend; this build has none (the kernel '",
                                  spec_.name, "' cannot run on the CPU)."));
#endif
}

}  // namespace ember
