// Random numbers from counter-based, splittable keys: the same key gives the
// same numbers everywhere. Without a key, a global key (set by seed) is split.
#pragma once

#include <optional>

#include "ember/array.h"

namespace ember::random {

/// Resets the global key.
EMBER_API void seed(uint64_t seed);
/// A key (uint32 array of shape (2,)) from a seed.
EMBER_API array key(uint64_t seed);
/// num new keys derived from key, shape (num, 2).
EMBER_API array split(const array& key, int num = 2);
/// Uniform in [low, high).
EMBER_API array uniform(const Shape& shape, Dtype dtype = Dtype::float32, const array& low = array(0.0f),
                        const array& high = array(1.0f), const std::optional<array>& key = std::nullopt);
EMBER_API array normal(const Shape& shape, Dtype dtype = Dtype::float32, float loc = 0.0f, float scale = 1.0f,
                       const std::optional<array>& key = std::nullopt);

}  // namespace ember::random
