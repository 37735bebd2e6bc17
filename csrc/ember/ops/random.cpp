// Random ops: argument checks, the global key, and every distribution built
// with ops from RandomBits, so samples are differentiable in their parameters
// (low, high, loc, scale) and batch under vmap like any other graph.
#include "ember/ops/random.h"

#include <chrono>
#include <cmath>
#include <mutex>

#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/primitives/random.h"

namespace ember::random {

namespace {

// ---- the global key -----------------------------------------------------------

struct GlobalKey {
  std::mutex mutex;
  uint32_t k0 = 0, k1 = 0;
  bool seeded = false;
};

GlobalKey& global_key() {
  static GlobalKey g;
  return g;
}

void set_global(GlobalKey& g, uint64_t s) {
  g.k0 = uint32_t(s >> 32);
  g.k1 = uint32_t(s);
  g.seeded = true;
}

// ---- checks -------------------------------------------------------------------

// The key to use: the given one (checked) or a fresh split of the global key.
array get_key(const char* op, const Key& key) {
  if (!key) return detail::next_key();
  const array& k = *key;
  if (k.dtype() != Dtype::uint32) {
    throw type_error(msg("[", op, "] A key must have dtype uint32, got ", dtype_name(k.dtype()),
                         ". Make one with random.key(seed)."));
  }
  if (k.shape() != Shape{2}) {
    throw std::invalid_argument(msg("[", op, "] A key must have shape (2,), got shape ", k.shape(),
                                    ". Use vmap to sample with a batch of keys."));
  }
  return k;
}

void require_float(const char* op, Dtype dtype) {
  if (!is_floating(dtype)) {
    // A ValueError, as in MLX and JAX.
    throw std::invalid_argument(msg("[", op, "] dtype must be a real floating type, got ", dtype_name(dtype), "."));
  }
}

// Parameters (low, high, p, ...) must broadcast to the requested shape, which
// is the shape of the result.
Shape broadcast_all(const char* op, const std::vector<array>& params) {
  Shape b;
  for (auto& p : params) b = broadcast_shapes(op, b, p.shape());
  return b;
}

void check_shape(const char* op, const Shape& shape, const Shape& b) {
  checked_nbytes(op, shape, Dtype::uint32);  // the random bits alone take 4 bytes a value
  bool fits = b.size() <= shape.size();
  for (size_t i = 0; fits && i < b.size(); ++i) {
    int64_t d = b[b.size() - 1 - i];
    fits = d == 1 || d == shape[shape.size() - 1 - i];
  }
  if (!fits) {
    throw std::invalid_argument(msg("[", op, "] Cannot generate random values of shape ", shape,
                                    " from parameters broadcast to shape ", b, "."));
  }
}

void check_params(const char* op, const Shape& shape, const std::vector<array>& params) {
  check_shape(op, shape, broadcast_all(op, params));
}

// ---- bits -> floats -----------------------------------------------------------
// Every float is an exact multiple of a power of two built from the top bits,
// so no rounding can push a sample onto an excluded endpoint.

// Significand bits (with the implicit one) and the bits width used per dtype.
int precision(Dtype t) {
  switch (t) {
    case Dtype::float16: return 11;
    case Dtype::bfloat16: return 8;
    case Dtype::float64: return 53;
    default: return 24;
  }
}
int width_for(Dtype t) {
  switch (t) {
    case Dtype::float16:
    case Dtype::bfloat16: return 2;
    case Dtype::float64: return 8;
    default: return 4;
  }
}

// Halves compute transcendental transforms in float32, then round once.
Dtype compute_dtype(Dtype t) { return t == Dtype::float64 ? Dtype::float64 : Dtype::float32; }

array raw_bits(const Shape& shape, int width, const array& key) {
  return make_node<RandomBits>(shape, bits_dtype(width), {key}, shape, width);
}

// The top `keep` bits of fresh bits, as a float of dtype t.
array top_bits(const Shape& shape, Dtype t, int keep, const array& key) {
  int w = width_for(t);
  array b = raw_bits(shape, w, key);
  b = right_shift(b, ember::detail::scalar(8 * w - keep, b.dtype()));
  return astype(b, t);
}

// k * 2^-p for k < 2^p: uniform on the grid of [0, 1).
array unit_closed_open(const Shape& shape, Dtype t, const array& key) {
  int p = precision(t);
  return multiply(top_bits(shape, t, p, key), ember::detail::scalar(std::ldexp(1.0, -p), t));
}

// (2k + 1) * 2^-p for k < 2^(p-1): uniform on the open interval (0, 1).
array unit_open(const Shape& shape, Dtype t, const array& key) {
  int p = precision(t);
  array k = top_bits(shape, t, p - 1, key);
  return add(multiply(k, ember::detail::scalar(std::ldexp(1.0, 1 - p), t)),
             ember::detail::scalar(std::ldexp(1.0, -p), t));
}

// (2k + 1) * 2^-(p-1) - 1 for k < 2^(p-1): uniform on (-1, 1), symmetric, never 0.
array symmetric_open(const Shape& shape, Dtype t, const array& key) {
  int p = precision(t);
  array k = top_bits(shape, t, p - 1, key);
  return add(multiply(k, ember::detail::scalar(std::ldexp(1.0, 2 - p), t)),
             ember::detail::scalar(std::ldexp(1.0, 1 - p) - 1.0, t));
}

}  // namespace

// ---- keys ---------------------------------------------------------------------------

void seed(uint64_t s) {
  auto& g = global_key();
  std::lock_guard<std::mutex> lock(g.mutex);
  set_global(g, s);
}

array key(uint64_t s) { return array({uint32_t(s >> 32), uint32_t(s)}); }

// Same as split(global, 2): the state becomes the first key, the second is returned.
array detail::next_key() {
  auto& g = global_key();
  std::lock_guard<std::mutex> lock(g.mutex);
  if (!g.seeded) {
    set_global(g, uint64_t(std::chrono::system_clock::now().time_since_epoch().count()));
  }
  uint32_t a0 = 0, a1 = 0, b0 = 1, b1 = 0;
  ember::detail::threefry2x32(g.k0, g.k1, a0, a1);
  ember::detail::threefry2x32(g.k0, g.k1, b0, b1);
  g.k0 = a0;
  g.k1 = a1;
  return array({b0, b1});
}

array split(const array& key, int num) {
  if (num < 0) throw std::invalid_argument(msg("[split] num must be non-negative, got ", num, "."));
  return raw_bits({num, 2}, 4, get_key("split", key));
}

array bits(const Shape& shape, int width, const Key& key) {
  checked_nbytes("bits", shape, Dtype::uint32);
  bits_dtype(width);  // checks width
  return raw_bits(shape, width, get_key("bits", key));
}

// ---- continuous distributions ----------------------------------------------------

array uniform(const Shape& shape, Dtype dtype, const array& low, const array& high, const Key& key) {
  require_float("uniform", dtype);
  check_params("uniform", shape, {low, high});
  array k = get_key("uniform", key);
  array lo = astype(low, dtype), hi = astype(high, dtype);
  array u = unit_closed_open(shape, dtype, k);
  array out = add(lo, multiply(subtract(hi, lo), u));
  // low + (high - low) * u can round up to high; those (rare) samples become low.
  array at_high = logical_and(greater_equal(out, hi), greater(hi, lo));
  return where(at_high, lo, out);
}

// Inverse CDF: sqrt(2) * erfinv(v) for v uniform on (-1, 1) is standard normal.
array normal(const Shape& shape, Dtype dtype, float loc, float scale, const Key& key) {
  if (loc == 0.0f && scale == 1.0f) {
    require_float("normal", dtype);
    checked_nbytes("normal", shape, Dtype::uint32);
    array k = get_key("normal", key);
    Dtype c = compute_dtype(dtype);
    array v = symmetric_open(shape, c, k);
    return astype(multiply(erfinv(v), ember::detail::scalar(std::sqrt(2.0), c)), dtype);
  }
  return normal(shape, dtype, array(loc), array(scale), key);
}

array normal(const Shape& shape, Dtype dtype, const array& loc, const array& scale, const Key& key) {
  require_float("normal", dtype);
  check_params("normal", shape, {loc, scale});
  array n = normal(shape, dtype, 0.0f, 1.0f, get_key("normal", key));
  return add(multiply(n, astype(scale, dtype)), astype(loc, dtype));
}

// Inverse CDF restricted to [Phi(lower), Phi(upper)], with Phi(x) written via erf.
array truncated_normal(const array& lower, const array& upper, const std::optional<Shape>& shape,
                       Dtype dtype, const Key& key) {
  const char* op = "truncated_normal";
  require_float(op, dtype);
  Shape s = shape ? *shape : broadcast_all(op, {lower, upper});
  check_params(op, s, {lower, upper});
  array k = get_key(op, key);
  Dtype c = compute_dtype(dtype);
  array lo = astype(lower, c), hi = astype(upper, c);
  array r2 = ember::detail::scalar(std::sqrt(2.0), c);
  array a = erf(divide(lo, r2)), b = erf(divide(hi, r2));
  array v = add(a, multiply(subtract(b, a), unit_open(s, c, k)));
  array out = multiply(erfinv(v), r2);
  // Rounding in erf / erfinv can step just outside the bounds.
  return astype(maximum(minimum(out, hi), lo), dtype);
}

array gumbel(const Shape& shape, Dtype dtype, const Key& key) {
  require_float("gumbel", dtype);
  checked_nbytes("gumbel", shape, Dtype::uint32);
  array k = get_key("gumbel", key);
  Dtype c = compute_dtype(dtype);
  return astype(negative(log(negative(log(unit_open(shape, c, k))))), dtype);
}

// Inverse CDF: for v uniform on (-1, 1), -sign(v) log(1 - |v|) is standard Laplace.
array laplace(const Shape& shape, Dtype dtype, float loc, float scale, const Key& key) {
  require_float("laplace", dtype);
  checked_nbytes("laplace", shape, Dtype::uint32);
  array k = get_key("laplace", key);
  Dtype c = compute_dtype(dtype);
  array v = symmetric_open(shape, c, k);
  array x = negative(multiply(sign(v), log1p(negative(abs(v)))));
  if (scale != 1.0f) x = multiply(x, ember::detail::scalar(scale, c));
  if (loc != 0.0f) x = add(x, ember::detail::scalar(loc, c));
  return astype(x, dtype);
}

array multivariate_normal(const array& mean, const array& cov, const Shape& shape, Dtype dtype,
                          const Key& key) {
  const char* op = "multivariate_normal";
  if (dtype != Dtype::float32) {
    throw std::invalid_argument(msg("[", op, "] dtype must be float32, got ", dtype_name(dtype), "."));
  }
  if (mean.ndim() < 1) {
    throw std::invalid_argument(msg("[", op, "] mean must have at least 1 dimension, got a 0-d array."));
  }
  if (cov.ndim() < 2 || cov.shape(-1) != cov.shape(-2)) {
    throw std::invalid_argument(msg("[", op, "] cov must be square matrices (..., n, n), got shape ",
                                    cov.shape(), "."));
  }
  const int64_t n = mean.shape(-1);
  if (cov.shape(-1) != n) {
    throw std::invalid_argument(msg("[", op, "] mean (shape ", mean.shape(), ") and cov (shape ",
                                    cov.shape(), ") must have the same size n on their last axes."));
  }
  for (auto* p : {&mean, &cov}) {
    if (is_complex(p->dtype())) throw type_error(msg("[", op, "] mean and cov must be real."));
  }
  Shape batch = broadcast_shapes(op, Shape(mean.shape().begin(), mean.shape().end() - 1),
                                 Shape(cov.shape().begin(), cov.shape().end() - 2));
  if (!shape.empty()) {
    if (broadcast_shapes(op, batch, shape) != shape) {
      throw std::invalid_argument(msg("[", op, "] shape ", shape, " must be a broadcast of the batch shape ",
                                      batch, " of mean and cov."));
    }
    batch = shape;
  }
  Shape out = batch;
  out.push_back(n);
  checked_nbytes(op, out, dtype);
  // A square root of cov from its SVD (robust for semi-definite matrices): U sqrt(S) V^T.
  auto usv = linalg::svd(astype(cov, Dtype::float32));
  array root = matmul(multiply(usv[0], expand_dims(sqrt(usv[1]), {-2})), usv[2]);
  array z = normal(out, dtype, 0.0f, 1.0f, key);
  return add(astype(mean, dtype), squeeze(matmul(expand_dims(z, {-2}), root), {-2}));
}

// ---- discrete distributions --------------------------------------------------------

// low + (bits mod (high - low)) with 64-bit bits: the modulo bias is below 2^-32.
// high - low and the sum are computed in uint64, where they wrap: high - low may exceed
// INT64_MAX (randint(-3, 2**63 - 1)), which overflowed in int64 (undefined behaviour, and in
// practice a negative range clamped to 1, so every draw was `low`).
array randint(const array& low, const array& high, const Shape& shape, Dtype dtype, const Key& key) {
  if (!is_integral(dtype)) {
    throw std::invalid_argument(msg("[randint] dtype must be an integer type, got ", dtype_name(dtype), "."));
  }
  for (auto* p : {&low, &high}) {
    if (is_complex(p->dtype())) throw type_error("[randint] low and high must be real numbers.");
  }
  check_params("randint", shape, {low, high});
  array k = get_key("randint", key);
  array lo = astype(low, Dtype::int64), hi = astype(high, Dtype::int64);
  array lo_u = astype(lo, Dtype::uint64);
  // An empty or inverted range gives low.
  array range = where(greater(hi, lo), subtract(astype(hi, Dtype::uint64), lo_u),
                      ember::detail::scalar(1, Dtype::uint64));
  array r = remainder(raw_bits(shape, 8, k), range);
  return astype(astype(add(lo_u, r), Dtype::int64), dtype);
}

array bernoulli(const array& p, const std::optional<Shape>& shape, const Key& key) {
  if (is_complex(p.dtype())) throw type_error("[bernoulli] p must be a real number.");
  Shape s = shape ? *shape : p.shape();
  check_params("bernoulli", s, {p});
  array k = get_key("bernoulli", key);
  Dtype c = p.dtype() == Dtype::float64 ? Dtype::float64 : Dtype::float32;
  return less(unit_closed_open(s, c, k), astype(p, c));
}

// Gumbel-max: argmax(logits + g) with g standard Gumbel picks i with
// probability softmax(logits)_i.
array categorical(const array& logits, int axis, const std::optional<Shape>& shape,
                  std::optional<int64_t> num_samples, const Key& key) {
  const char* op = "categorical";
  if (shape && num_samples) {
    throw std::invalid_argument("[categorical] Give at most one of shape and num_samples.");
  }
  if (is_complex(logits.dtype())) throw type_error("[categorical] logits must be real.");
  if (logits.ndim() == 0) {
    throw std::invalid_argument("[categorical] logits must have at least one dimension, got a scalar.");
  }
  int ax = normalize_axis(op, axis, logits.ndim());
  if (logits.shape(ax) == 0) {
    throw std::invalid_argument(msg("[categorical] There are no categories: logits has shape ",
                                    logits.shape(), " and axis ", axis, "."));
  }
  array l = moveaxis(is_floating(logits.dtype()) ? logits : astype(logits, Dtype::float32), ax, -1);
  Shape batch(l.shape().begin(), l.shape().end() - 1);
  Shape out_shape = batch;
  if (num_samples) {
    if (*num_samples < 0) {
      throw std::invalid_argument(msg("[categorical] num_samples must be non-negative, got ",
                                      *num_samples, "."));
    }
    out_shape.push_back(*num_samples);
    l = expand_dims(l, {-2});
  } else if (shape) {
    check_shape(op, *shape, batch);
    out_shape = *shape;
  }
  array k = get_key(op, key);
  Shape g_shape = out_shape;
  g_shape.push_back(l.shape().back());
  Dtype c = l.dtype() == Dtype::float64 ? Dtype::float64 : Dtype::float32;
  array g = gumbel(g_shape, c, k);
  return argmax(add(astype(l, c), g), -1);
}

// Sorting fresh bits gives a uniformly random order (ties, ~n^2 / 2^33 likely,
// only bias it negligibly).
array permutation(int64_t n, const Key& key) {
  if (n < 0) throw std::invalid_argument(msg("[permutation] n must be non-negative, got ", n, "."));
  return argsort(raw_bits({n}, 4, get_key("permutation", key)), 0);
}

array permutation(const array& x, int axis, const Key& key) {
  if (x.ndim() == 0) throw std::invalid_argument("[permutation] x must have at least one dimension.");
  int ax = normalize_axis("permutation", axis, x.ndim());
  return take(x, permutation(x.shape(ax), key), ax);
}

}  // namespace ember::random
