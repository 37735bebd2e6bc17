// Creation ops, and the small helpers other families share.
#include "ember/ops/creation.h"

#include <cmath>

#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/primitives/creation.h"
#include "ember/primitives/unary.h"

namespace ember {

namespace detail {

array scalar(double value, Dtype dtype) { return array(value).astype_now(dtype); }
array scalar_like(double value, const array& like) { return scalar(value, like.dtype()); }

void require_inexact(const char* op, const array& a) {
  if (!is_inexact(a.dtype())) {
    throw type_error(
        msg("[", op, "] Needs a floating point input, got ", dtype_name(a.dtype()), "."));
  }
}

}  // namespace detail

array astype(const array& a, Dtype dtype) {
  if (a.dtype() == dtype) return a;
  return make_node<AsType>(a.shape(), dtype, {a}, dtype);
}

array copy(const array& a) { return make_node<Copy>(a.shape(), a.dtype(), {a}); }

namespace {

// full() under the name the user called (zeros, ones, full, ...), for its messages.
array fill(const char* op, const Shape& shape, const array& value, Dtype dtype) {
  checked_nbytes(op, shape, dtype);
  if (broadcast_shapes(op, value.shape(), shape) != shape) {
    throw std::invalid_argument(msg("[", op, "] Cannot broadcast a value of shape ", value.shape(),
                                    " to shape ", shape, "."));
  }
  return copy(broadcast_to(astype(value, dtype), shape));
}

}  // namespace

array full(const Shape& shape, const array& value, std::optional<Dtype> dtype) {
  return fill("full", shape, value, dtype.value_or(value.dtype()));
}

array zeros(const Shape& shape, Dtype dtype) { return fill("zeros", shape, array(0), dtype); }
array ones(const Shape& shape, Dtype dtype) { return fill("ones", shape, array(1), dtype); }
array zeros_like(const array& a) { return zeros(a.shape(), a.dtype()); }
array ones_like(const array& a) { return ones(a.shape(), a.dtype()); }
array full_like(const array& a, const array& value) { return full(a.shape(), value, a.dtype()); }

array arange(double start, double stop, double step, Dtype dtype) {
  if (step == 0) throw std::invalid_argument("[arange] step must not be zero.");
  if (!std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step)) {
    throw std::invalid_argument("[arange] start, stop and step must be finite.");
  }
  double n = std::ceil((stop - start) / step);
  if (!(n < double(kMaxArraySize))) {
    throw std::invalid_argument(msg("[arange] (stop - start) / step = ", n,
                                    " values: more than an array can hold (fewer than 2^60)."));
  }
  int64_t size = n > 0 ? int64_t(n) : 0;
  checked_nbytes("arange", Shape{size}, dtype);
  if (size > 0 && is_integral(dtype)) {
    // An integer result must hold its first and last values (numpy would pick a wider
    // dtype; a fixed one would wrap silently).
    const double last = start + double(size - 1) * step;
    const double lo = std::min(start, last), hi = std::max(start, last);
    const double tmin = is_unsigned(dtype) ? 0.0 : -std::ldexp(1.0, int(size_of(dtype)) * 8 - 1);
    const double tmax = std::ldexp(1.0, int(size_of(dtype)) * 8 - (is_unsigned(dtype) ? 0 : 1));
    if (lo < tmin || hi >= tmax) {
      throw std::invalid_argument(msg("[arange] The values from ", start, " to ", last,
                                      " do not fit in ", dtype_name(dtype), "."));
    }
  }
  return make_node<Arange>(Shape{size}, dtype, {}, start, step);
}

array linspace(double start, double stop, int64_t num, Dtype dtype) {
  if (num < 0) throw std::invalid_argument(msg("[linspace] num must be >= 0, got ", num, "."));
  if (!is_inexact(dtype) && !is_integral(dtype)) dtype = Dtype::float32;
  checked_nbytes("linspace", Shape{num}, Dtype::float64);  // computed in float64
  double step = num > 1 ? (stop - start) / double(num - 1) : 0.0;
  // Computed in float64 then cast, so the end point is exact.
  array r = make_node<Arange>(Shape{num}, Dtype::float64, {}, 0.0, 1.0);
  array v = add(multiply(r, array(step)), array(start));
  if (num > 1) {
    v = where(equal(r, array(double(num - 1))), array(stop), v);
  }
  return astype(v, dtype);
}

array tri(int64_t n, std::optional<int64_t> m, int k, Dtype dtype) {
  int64_t cols = m.value_or(n);
  if (n < 0 || cols < 0) throw std::invalid_argument("[tri] Sizes must be >= 0.");
  checked_nbytes("tri", Shape{n, cols}, dtype);
  array rows = reshape(arange(0, double(n), 1, Dtype::int64), {n, 1});
  array c = reshape(arange(0, double(cols), 1, Dtype::int64), {1, cols});
  return astype(greater_equal(add(rows, array(int64_t(k))), c), dtype);
}

array eye(int64_t n, std::optional<int64_t> m, int k, Dtype dtype) {
  int64_t cols = m.value_or(n);
  if (n < 0 || cols < 0) throw std::invalid_argument("[eye] Sizes must be >= 0.");
  checked_nbytes("eye", Shape{n, cols}, dtype);
  array rows = reshape(arange(0, double(n), 1, Dtype::int64), {n, 1});
  array c = reshape(arange(0, double(cols), 1, Dtype::int64), {1, cols});
  return astype(equal(add(rows, array(int64_t(k))), c), dtype);
}

array identity(int64_t n, Dtype dtype) { return eye(n, n, 0, dtype); }

array tril(const array& a, int k) {
  if (a.ndim() < 2) {
    throw std::invalid_argument("[tril] Needs an array with at least 2 dimensions.");
  }
  array mask = tri(a.shape(-2), a.shape(-1), k, Dtype::bool_);
  return where(mask, a, zeros({}, a.dtype()));
}

array triu(const array& a, int k) {
  if (a.ndim() < 2) {
    throw std::invalid_argument("[triu] Needs an array with at least 2 dimensions.");
  }
  array mask = tri(a.shape(-2), a.shape(-1), k - 1, Dtype::bool_);
  return where(mask, zeros({}, a.dtype()), a);
}

}  // namespace ember

namespace ember {

namespace {

// The cosine-sum windows: sum_j c_j cos(2 pi j n / (M - 1)) with signs
// alternating, n = 0 .. M-1 (computed in float64, returned as float32).
array cosine_window(int64_t M, const std::vector<double>& coeffs) {
  if (M <= 0) return zeros({0});
  if (M == 1) return ones({1});
  array n = arange(0, double(M), 1, Dtype::float64);
  array w = zeros({M}, Dtype::float64);
  for (size_t j = 0; j < coeffs.size(); ++j) {
    double c = (j % 2 ? -1.0 : 1.0) * coeffs[j];
    array arg = multiply(n, array(2.0 * M_PI * double(j) / double(M - 1)));
    w = add(w, multiply(array(c), cos(arg)));
  }
  return astype(w, Dtype::float32);
}

}  // namespace

array hanning(int64_t M) { return cosine_window(M, {0.5, 0.5}); }
array hamming(int64_t M) { return cosine_window(M, {0.54, 0.46}); }
array blackman(int64_t M) { return cosine_window(M, {0.42, 0.5, 0.08}); }

array bartlett(int64_t M) {
  if (M <= 0) return zeros({0});
  if (M == 1) return ones({1});
  // 1 - |2n / (M - 1) - 1|, the triangle through 0 at both ends.
  array n = arange(0, double(M), 1, Dtype::float64);
  array t = subtract(multiply(n, array(2.0 / double(M - 1))), array(1.0));
  return astype(subtract(array(1.0), abs(t)), Dtype::float32);
}

}  // namespace ember
