// mlx.core.fft ops: argument checks, then pads / slices to the requested
// lengths, the FFT primitive per axis, and the normalization as a scale.
#include "ember/ops/fft.h"

#include <algorithm>
#include <cmath>

#include "ember/errors.h"
#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/primitives/fft.h"

namespace ember::fft {

namespace {

// The factor a transform of n points is multiplied by, for the direction and norm.
double scale_for(const char* op, const std::string& norm, int64_t n, bool inverse) {
  if (norm == "backward") return inverse ? 1.0 / double(n) : 1.0;
  if (norm == "forward") return inverse ? 1.0 : 1.0 / double(n);
  if (norm == "ortho") return 1.0 / std::sqrt(double(n));
  throw std::invalid_argument(msg("[", op, "] norm must be \"backward\", \"ortho\" or \"forward\", got \"",
                                  norm, "\"."));
}

array scaled(const array& x, double s) {
  return s == 1.0 ? x : multiply(x, detail::scalar(s, x.dtype() == Dtype::complex64 ? Dtype::float32 : x.dtype()));
}

// a cropped or zero-padded to n along axis.
array fit(const array& a, int axis, int64_t n) {
  int64_t d = a.shape(axis);
  if (d == n) return a;
  if (d > n) {
    std::vector<int64_t> start(a.ndim(), 0), stop(a.shape().begin(), a.shape().end()),
        step(a.ndim(), 1);
    stop[axis] = n;
    return slice(a, start, stop, step);
  }
  std::vector<std::pair<int64_t, int64_t>> w(a.ndim(), {0, 0});
  w[axis] = {0, n - d};
  return pad(a, w, zeros({}, a.dtype()));
}

int64_t check_n(const char* op, int64_t n) {
  if (n <= 0) throw std::invalid_argument(msg("[", op, "] Invalid number of points n=", n, "."));
  return n;
}

int one_axis(const char* op, const array& a, int axis) {
  if (a.ndim() == 0) throw std::invalid_argument(msg("[", op, "] Input must have at least one dimension."));
  return normalize_axis(op, axis, a.ndim());
}

array to_complex(const char* op, const array& a) {
  (void)op;
  return a.dtype() == Dtype::complex64 ? a : astype(a, Dtype::complex64);
}

array to_real(const char* op, const array& a) {
  if (a.dtype() == Dtype::complex64) {
    throw type_error(msg("[", op, "] Expects a real input, got complex64 (use fft)."));
  }
  return a.dtype() == Dtype::float32 ? a : astype(a, Dtype::float32);
}

// The (axes, lengths) of an n-dimensional transform, numpy's defaults.
std::pair<std::vector<int>, std::vector<int64_t>> plan_axes(
    const char* op, const array& a, const std::optional<std::vector<int64_t>>& s,
    const std::optional<std::vector<int>>& axes, bool real_out_last = false) {
  std::vector<int> ax;
  if (axes) {
    ax = normalize_axes(op, *axes, a.ndim());
  } else {
    int k = s ? int(s->size()) : a.ndim();
    if (k > a.ndim()) {
      throw std::invalid_argument(msg("[", op, "] s has ", k, " entries but the input (shape ",
                                      a.shape(), ") has ", a.ndim(), " dimensions."));
    }
    for (int i = a.ndim() - k; i < a.ndim(); ++i) ax.push_back(i);
  }
  std::vector<int64_t> n;
  if (s) {
    if (s->size() != ax.size()) {
      throw std::invalid_argument(msg("[", op, "] s and axes must have the same length, got ",
                                      s->size(), " and ", ax.size(), "."));
    }
    for (int64_t v : *s) n.push_back(check_n(op, v));
  } else {
    for (size_t i = 0; i < ax.size(); ++i) {
      int64_t d = a.shape(ax[i]);
      // irfftn's last axis holds m frequencies of 2 (m - 1) points.
      if (real_out_last && i + 1 == ax.size()) d = 2 * (d - 1);
      n.push_back(check_n(op, d));
    }
  }
  if (ax.empty()) throw std::invalid_argument(msg("[", op, "] No axes to transform."));
  return {ax, n};
}

array c2c(const char* op, const array& a, const std::vector<int>& ax, const std::vector<int64_t>& n,
          const std::string& norm, bool inverse) {
  array x = to_complex(op, a);
  double s = 1.0;
  for (size_t i = 0; i < ax.size(); ++i) {
    x = dft(fit(x, ax[i], n[i]), ax[i], inverse);
    s *= scale_for(op, norm, n[i], inverse);
  }
  return scaled(x, s);
}

// The real signal of n points whose spectrum's first n // 2 + 1 terms are x
// along axis: the missing terms are the conjugates of the mirrored ones.
array hermitian_full(const array& x, int axis, int64_t n) {
  int64_t m = n / 2 + 1;
  array half = fit(x, axis, m);
  // terms m .. n-1 are conj(X[n - k]) for k = m .. n-1, i.e. X[n-m .. 1] reversed
  int64_t extra = n - m;
  if (extra == 0) return half;
  std::vector<int64_t> start(x.ndim(), 0), stop(half.shape().begin(), half.shape().end()),
      step(x.ndim(), 1);
  start[axis] = extra;  // index n - m
  stop[axis] = 0;       // down to index 1 (exclusive 0)
  step[axis] = -1;
  array mirrored = conjugate(slice(half, start, stop, step));
  return concatenate({half, mirrored}, axis);
}

}  // namespace

array dft(const array& a, int axis, bool inverse) {
  array x = to_complex("fft", a);
  int ax = normalize_axis("fft", axis, x.ndim());
  return make_node<FFT>(x.shape(), Dtype::complex64, {x}, ax, inverse);
}

array fft(const array& a, std::optional<int64_t> n, int axis, const std::string& norm) {
  int ax = one_axis("fft.fft", a, axis);
  return c2c("fft.fft", a, {ax}, {check_n("fft.fft", n.value_or(a.shape(ax)))}, norm, false);
}

array ifft(const array& a, std::optional<int64_t> n, int axis, const std::string& norm) {
  int ax = one_axis("fft.ifft", a, axis);
  return c2c("fft.ifft", a, {ax}, {check_n("fft.ifft", n.value_or(a.shape(ax)))}, norm, true);
}

array rfft(const array& a, std::optional<int64_t> n_in, int axis, const std::string& norm) {
  const char* op = "fft.rfft";
  int ax = one_axis(op, a, axis);
  int64_t n = check_n(op, n_in.value_or(a.shape(ax)));
  array x = c2c(op, to_real(op, a), {ax}, {n}, norm, false);
  return fit(x, ax, n / 2 + 1);
}

array irfft(const array& a, std::optional<int64_t> n_in, int axis, const std::string& norm) {
  const char* op = "fft.irfft";
  int ax = one_axis(op, a, axis);
  int64_t n = check_n(op, n_in.value_or(2 * (a.shape(ax) - 1)));
  array full = hermitian_full(to_complex(op, a), ax, n);
  return real(c2c(op, full, {ax}, {n}, norm, true));
}

array fftn(const array& a, const std::optional<std::vector<int64_t>>& s,
           const std::optional<std::vector<int>>& axes, const std::string& norm) {
  auto [ax, n] = plan_axes("fft.fftn", a, s, axes);
  return c2c("fft.fftn", a, ax, n, norm, false);
}

array ifftn(const array& a, const std::optional<std::vector<int64_t>>& s,
            const std::optional<std::vector<int>>& axes, const std::string& norm) {
  auto [ax, n] = plan_axes("fft.ifftn", a, s, axes);
  return c2c("fft.ifftn", a, ax, n, norm, true);
}

array rfftn(const array& a, const std::optional<std::vector<int64_t>>& s,
            const std::optional<std::vector<int>>& axes, const std::string& norm) {
  const char* op = "fft.rfftn";
  auto [ax, n] = plan_axes(op, a, s, axes);
  array x = c2c(op, to_real(op, a), ax, n, norm, false);
  return fit(x, ax.back(), n.back() / 2 + 1);
}

array irfftn(const array& a, const std::optional<std::vector<int64_t>>& s,
             const std::optional<std::vector<int>>& axes, const std::string& norm) {
  const char* op = "fft.irfftn";
  auto [ax, n] = plan_axes(op, a, s, axes, true);
  array x = to_complex(op, a);
  // The complex axes first (inverse transforms), then the real one.
  std::vector<int> lead(ax.begin(), ax.end() - 1);
  std::vector<int64_t> nl(n.begin(), n.end() - 1);
  if (!lead.empty()) x = c2c(op, x, lead, nl, norm, true);
  return irfft(x, n.back(), ax.back(), norm);
}

array fftshift(const array& a, const std::optional<std::vector<int>>& axes) {
  std::vector<int> ax;
  if (axes) {
    ax = normalize_axes("fft.fftshift", *axes, a.ndim());
  } else {
    for (int i = 0; i < a.ndim(); ++i) ax.push_back(i);
  }
  std::vector<int64_t> shift;
  for (int i : ax) shift.push_back(a.shape(i) / 2);
  return ax.empty() ? a : roll(a, shift, ax);
}

array ifftshift(const array& a, const std::optional<std::vector<int>>& axes) {
  std::vector<int> ax;
  if (axes) {
    ax = normalize_axes("fft.ifftshift", *axes, a.ndim());
  } else {
    for (int i = 0; i < a.ndim(); ++i) ax.push_back(i);
  }
  std::vector<int64_t> shift;
  for (int i : ax) shift.push_back(-(a.shape(i) / 2));
  return ax.empty() ? a : roll(a, shift, ax);
}

array fftfreq(int64_t n, double d) {
  check_n("fft.fftfreq", n);
  // 0, 1, ..., (n - 1) // 2, -(n // 2), ..., -1, all / (n d)
  array k = arange(0, double(n), 1, Dtype::float64);
  array wrapped = where(greater_equal(k, array(double((n + 1) / 2))), subtract(k, array(double(n))), k);
  return astype(divide(wrapped, array(double(n) * d)), Dtype::float32);
}

array rfftfreq(int64_t n, double d) {
  check_n("fft.rfftfreq", n);
  array k = arange(0, double(n / 2 + 1), 1, Dtype::float64);
  return astype(divide(k, array(double(n) * d)), Dtype::float32);
}

}  // namespace ember::fft
