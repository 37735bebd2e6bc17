// Indexing with integer arrays (gather / scatter), sorting and partitioning.
// Indices may be negative (counted from the end); out-of-range indices raise
// IndexError at eval time, when their values are known.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ember/array.h"

namespace ember {

/// How a scatter combines an update with what is there: write it (the last
/// of repeated indices wins) or accumulate (repeated indices all count).
enum class ScatterMode { write, add, prod, max, min };

/// Elements along axis at `indices` (numpy.take); flattened when axis is nullopt.
EMBER_API array take(const array& a, const array& indices, std::optional<int> axis = std::nullopt);
/// numpy.take_along_axis.
EMBER_API array take_along_axis(const array& a, const array& indices, std::optional<int> axis);
/// Returns a copy of a with values written at indices along axis.
EMBER_API array put_along_axis(const array& a, const array& indices, const array& values,
                               std::optional<int> axis);
/// Returns a copy of a with values added at indices along axis (repeats accumulate).
EMBER_API array scatter_add_along_axis(const array& a, const array& indices, const array& values,
                                       std::optional<int> axis);
/// General gather: a[indices[0], indices[1], ...] over the leading len(indices)
/// axes, indices broadcast together (numpy advanced indexing on leading axes).
EMBER_API array gather(const array& a, const std::vector<array>& indices);
/// Scatter counterpart of gather: writes (or adds, when add=true) updates
/// shaped broadcast(indices) + a.shape[len(indices):].
EMBER_API array scatter(const array& a, const std::vector<array>& indices, const array& updates,
                        bool add = false);
/// gather over the given axes of a (the others are taken whole): the result is
/// broadcast(indices).shape + the remaining axes of a, in order.
EMBER_API array gather(const array& a, const std::vector<array>& indices, const std::vector<int>& axes);
/// scatter over the given axes of a; updates are shaped like gather(a, indices, axes).
EMBER_API array scatter(const array& a, const std::vector<array>& indices, const array& updates,
                        const std::vector<int>& axes, bool add);
/// Scatter with any combining mode, over leading axes or the given axes.
EMBER_API array scatter(const array& a, const std::vector<array>& indices, const array& updates,
                        ScatterMode mode);
EMBER_API array scatter(const array& a, const std::vector<array>& indices, const array& updates,
                        const std::vector<int>& axes, ScatterMode mode);
/// a with each indexed position multiplied by / raised to the max / min with its updates.
EMBER_API array scatter_prod(const array& a, const std::vector<array>& indices,
                             const array& updates, const std::vector<int>& axes);
EMBER_API array scatter_max(const array& a, const std::vector<array>& indices,
                            const array& updates, const std::vector<int>& axes);
EMBER_API array scatter_min(const array& a, const std::vector<array>& indices,
                            const array& updates, const std::vector<int>& axes);
/// Indices where values would be inserted into the sorted last axis of
/// sorted_sequence to keep it sorted: before equal elements ("left") or after ("right").
/// A 1-D sequence serves every value; otherwise its leading axes match the values'.
EMBER_API array searchsorted(const array& sorted_sequence, const array& values,
                             const std::string& side = "left");
/// Sorted along axis (flattened when nullopt); NaNs last, as numpy.
EMBER_API array sort(const array& a, std::optional<int> axis = -1);
/// Stable argsort along axis (uint32, as mlx); NaNs last.
EMBER_API array argsort(const array& a, std::optional<int> axis = -1);
/// Values rearranged so element kth is in sorted position along axis.
EMBER_API array partition(const array& a, int kth, std::optional<int> axis = -1);
EMBER_API array argpartition(const array& a, int kth, std::optional<int> axis = -1);
/// The k largest values along axis, in ascending order (mlx leaves them in
/// partition order; sorted is one such order).
EMBER_API array topk(const array& a, int k, std::optional<int> axis = -1);
/// Coordinates of the nonzero elements (row-major), one int64 array per axis.
/// Evaluates a, since the result's size depends on its values: it cannot be
/// used inside vmap (boolean-mask indexing is built on it).
EMBER_API std::vector<array> nonzero(const array& a);

}  // namespace ember
