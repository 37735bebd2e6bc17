// Reductions over axes (all axes when `axes` is empty... see each op) with
// keepdims, plus scans and softmax. Float sums accumulate in blocks so
// sum(ones(2**22) * 1.1) is right to ~1e-6 relative.
#pragma once

#include <optional>
#include <vector>

#include "ember/array.h"

namespace ember {

/// Axes: nullopt means all axes; an empty list means none (a copy).
using Axes = std::optional<std::vector<int>>;

/// Sum; bool and small ints accumulate as int32 / uint32 (numpy-like). An empty
/// selection sums to 0 (prod: 1); max / min of one raise ValueError.
EMBER_API array sum(const array& a, const Axes& axes = std::nullopt, bool keepdims = false);
EMBER_API array prod(const array& a, const Axes& axes = std::nullopt, bool keepdims = false);
/// Mean; ints and bool give float32, halves are summed in float32.
EMBER_API array mean(const array& a, const Axes& axes = std::nullopt, bool keepdims = false);
/// Variance with ddof (0: population); complex input gives a real result.
EMBER_API array var(const array& a, const Axes& axes = std::nullopt, bool keepdims = false, int ddof = 0);
EMBER_API array std(const array& a, const Axes& axes = std::nullopt, bool keepdims = false, int ddof = 0);
EMBER_API array max(const array& a, const Axes& axes = std::nullopt, bool keepdims = false);
EMBER_API array min(const array& a, const Axes& axes = std::nullopt, bool keepdims = false);
/// Index (uint32) of the first max / min along one axis, or of the flattened array.
EMBER_API array argmax(const array& a, std::optional<int> axis = std::nullopt, bool keepdims = false);
EMBER_API array argmin(const array& a, std::optional<int> axis = std::nullopt, bool keepdims = false);
EMBER_API array logsumexp(const array& a, const Axes& axes = std::nullopt, bool keepdims = false);
EMBER_API array all(const array& a, const Axes& axes = std::nullopt, bool keepdims = false);
EMBER_API array any(const array& a, const Axes& axes = std::nullopt, bool keepdims = false);
/// exp(a - logsumexp(a)) along axes (default: all).
EMBER_API array softmax(const array& a, const Axes& axes = std::nullopt);
/// softmax; with precise, float16 / bfloat16 inputs are computed in float32.
EMBER_API array softmax(const array& a, const Axes& axes, bool precise);
/// Inclusive scans along an axis (nullopt: flattened); reverse scans from the end.
/// Output dtypes follow sum's (bool and small ints give int32 / uint32).
/// log(cumsum(exp(a))) along axis, computed without overflow (ints give float32).
EMBER_API array logcumsumexp(const array& a, std::optional<int> axis = std::nullopt,
                             bool reverse = false, bool inclusive = true);
/// Number of nonzero elements over axes (int32, as mlx).
EMBER_API array count_nonzero(const array& a, const Axes& axes = std::nullopt, bool keepdims = false);
/// The median over axes (the mean of the two middle values for even counts; NaN if any is).
EMBER_API array median(const array& a, const Axes& axes = std::nullopt, bool keepdims = false);
EMBER_API array cumsum(const array& a, std::optional<int> axis = std::nullopt, bool reverse = false,
                       bool inclusive = true);
EMBER_API array cumprod(const array& a, std::optional<int> axis = std::nullopt, bool reverse = false,
                        bool inclusive = true);
/// Running max / min (NaN propagates); an exclusive scan starts from -inf / +inf
/// (the lowest / highest value for integers).
EMBER_API array cummax(const array& a, std::optional<int> axis = std::nullopt, bool reverse = false,
                       bool inclusive = true);
EMBER_API array cummin(const array& a, std::optional<int> axis = std::nullopt, bool reverse = false,
                       bool inclusive = true);

}  // namespace ember
