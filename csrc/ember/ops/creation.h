// Creation ops: constants, ranges, identity-like matrices, dtype conversion.
#pragma once

#include <optional>

#include "ember/array.h"

namespace ember {

/// An array of `shape` filled with `value` (broadcast), cast to dtype.
EMBER_API array full(const Shape& shape, const array& value,
                     std::optional<Dtype> dtype = std::nullopt);
EMBER_API array zeros(const Shape& shape, Dtype dtype = Dtype::float32);
EMBER_API array ones(const Shape& shape, Dtype dtype = Dtype::float32);
EMBER_API array zeros_like(const array& a);
EMBER_API array ones_like(const array& a);
EMBER_API array full_like(const array& a, const array& value);
/// Values start, start + step, ... below stop (numpy's length rule).
EMBER_API array arange(double start, double stop, double step, Dtype dtype);
/// num evenly spaced values from start to stop (inclusive).
EMBER_API array linspace(double start, double stop, int64_t num, Dtype dtype = Dtype::float32);
/// n x m matrix with ones on diagonal k.
EMBER_API array eye(int64_t n, std::optional<int64_t> m = std::nullopt, int k = 0,
                    Dtype dtype = Dtype::float32);
EMBER_API array identity(int64_t n, Dtype dtype = Dtype::float32);
/// n x m matrix with ones on and below diagonal k.
EMBER_API array tri(int64_t n, std::optional<int64_t> m = std::nullopt, int k = 0,
                    Dtype dtype = Dtype::float32);
/// Zeros above (tril) / below (triu) diagonal k of the last two axes.
EMBER_API array tril(const array& a, int k = 0);
EMBER_API array triu(const array& a, int k = 0);
/// Converts the dtype; a no-op when it already matches.
EMBER_API array astype(const array& a, Dtype dtype);
/// Window functions of length M (numpy's definitions, float32; M <= 0 gives an
/// empty array, M == 1 a single 1).
EMBER_API array hanning(int64_t M);
EMBER_API array hamming(int64_t M);
EMBER_API array blackman(int64_t M);
EMBER_API array bartlett(int64_t M);
/// A new array with the same values (its own node).
EMBER_API array copy(const array& a);

}  // namespace ember
