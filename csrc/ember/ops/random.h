// Random numbers from counter-based, splittable keys: the same key gives the
// same numbers everywhere. Without a key, a global key (set by seed) is split.
#pragma once

#include <optional>

#include "ember/array.h"

namespace ember::random {

/// An optional key: uint32 array of shape (2,); nullopt draws from the global key.
using Key = std::optional<array>;

/// Resets the global key (initially seeded from the clock).
EMBER_API void seed(uint64_t seed);
/// A key (uint32 array of shape (2,)) from a seed: (seed >> 32, seed & 0xffffffff).
EMBER_API array key(uint64_t seed);
/// num new keys derived from key, shape (num, 2).
EMBER_API array split(const array& key, int num = 2);
/// Raw random bits: unsigned integers of `width` bytes (1, 2, 4 or 8).
EMBER_API array bits(const Shape& shape, int width = 4, const Key& key = std::nullopt);
/// Uniform in [low, high); low and high broadcast to shape.
EMBER_API array uniform(const Shape& shape, Dtype dtype = Dtype::float32,
                        const array& low = array(0.0f), const array& high = array(1.0f),
                        const Key& key = std::nullopt);
/// Standard normal scaled by `scale` and shifted by `loc`.
EMBER_API array normal(const Shape& shape, Dtype dtype = Dtype::float32, float loc = 0.0f, float scale = 1.0f,
                       const Key& key = std::nullopt);
/// Normal with array loc / scale (broadcast to shape; differentiable).
EMBER_API array normal(const Shape& shape, Dtype dtype, const array& loc, const array& scale,
                       const Key& key = std::nullopt);
/// Integers uniform in [low, high) (low where high <= low); integer dtypes only.
EMBER_API array randint(const array& low, const array& high, const Shape& shape,
                        Dtype dtype = Dtype::int32, const Key& key = std::nullopt);
/// bool, true with probability p; shape defaults to p's shape.
EMBER_API array bernoulli(const array& p = array(0.5f), const std::optional<Shape>& shape = std::nullopt,
                          const Key& key = std::nullopt);
/// Normal restricted to [lower, upper]; shape defaults to their broadcast shape.
EMBER_API array truncated_normal(const array& lower, const array& upper,
                                 const std::optional<Shape>& shape = std::nullopt,
                                 Dtype dtype = Dtype::float32, const Key& key = std::nullopt);
/// Standard Gumbel: -log(-log(u)).
EMBER_API array gumbel(const Shape& shape, Dtype dtype = Dtype::float32, const Key& key = std::nullopt);
/// Laplace with location loc and scale (density exp(-|x - loc| / scale) / (2 scale)).
EMBER_API array laplace(const Shape& shape, Dtype dtype = Dtype::float32, float loc = 0.0f,
                        float scale = 1.0f, const Key& key = std::nullopt);
/// Indices (uint32) sampled from the unnormalized log-probabilities along axis
/// (Gumbel-max). shape: the output shape (broadcast with the other axes of
/// logits); num_samples: that many draws per distribution, on a new last axis.
EMBER_API array categorical(const array& logits, int axis = -1,
                            const std::optional<Shape>& shape = std::nullopt,
                            std::optional<int64_t> num_samples = std::nullopt,
                            const Key& key = std::nullopt);
/// Jointly normal samples with mean (..., n) and covariance (..., n, n) (positive
/// semi-definite): mean + z @ (U diag(sqrt(s)) V^T) for standard normal z and the SVD of
/// cov. shape (empty: the broadcast of mean.shape[:-1] and cov.shape[:-2]) is the batch of
/// the output, whose last axis has n values. dtype must be float32 (as in MLX).
EMBER_API array multivariate_normal(const array& mean, const array& cov, const Shape& shape = {},
                                    Dtype dtype = Dtype::float32, const Key& key = std::nullopt);
/// A random permutation of 0 .. n-1 (the indices argsort returns).
EMBER_API array permutation(int64_t n, const Key& key = std::nullopt);
/// x shuffled along axis.
EMBER_API array permutation(const array& x, int axis = 0, const Key& key = std::nullopt);

namespace detail {
/// Splits the global key: returns a fresh key and advances the state. Thread-safe.
EMBER_API array next_key();
}  // namespace detail

}  // namespace ember::random
