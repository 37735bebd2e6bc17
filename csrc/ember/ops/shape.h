// Shape ops. reshape, transpose, broadcast_to, expand_dims, squeeze and slices
// are views (no copy) when the layout allows.
#pragma once

#include <optional>
#include <vector>

#include "ember/array.h"

namespace ember {

/// One dimension may be -1 (inferred).
EMBER_API array reshape(const array& a, Shape shape);
EMBER_API array flatten(const array& a, int start_axis = 0, int end_axis = -1);
/// Removes size-1 axes (all when axes is empty).
EMBER_API array squeeze(const array& a, const std::vector<int>& axes = {});
EMBER_API array expand_dims(const array& a, const std::vector<int>& axes);
/// Permutes axes (reverses them when axes is empty).
EMBER_API array transpose(const array& a, std::vector<int> axes = {});
EMBER_API array swapaxes(const array& a, int axis1, int axis2);
EMBER_API array moveaxis(const array& a, int source, int destination);
EMBER_API array broadcast_to(const array& a, const Shape& shape);
/// Broadcasts every array to their common shape.
EMBER_API std::vector<array> broadcast_arrays(const std::vector<array>& arrays, const char* op = "broadcast_arrays");
/// Joins along an existing axis; dtypes promote across the inputs.
EMBER_API array concatenate(const std::vector<array>& arrays, int axis = 0);
/// Joins arrays of one shape along a new axis.
EMBER_API array stack(const std::vector<array>& arrays, int axis = 0);
/// Splits into `num` equal parts (ValueError unless they divide the axis), or at the given
/// indices (numpy semantics: negative indices count from the end), along axis.
EMBER_API std::vector<array> split(const array& a, int num, int axis = 0);
EMBER_API std::vector<array> split(const array& a, const std::vector<int64_t>& indices, int axis = 0);
/// Repeats each element `repeats` times along axis (flattened when nullopt).
EMBER_API array repeat(const array& a, int64_t repeats, std::optional<int> axis = std::nullopt);
/// Repeats the whole array reps[i] times along axis i (numpy rules for unequal lengths).
EMBER_API array tile(const array& a, const std::vector<int64_t>& reps);
/// Pads with a constant (a scalar, cast to a's dtype); widths[i] = (before, after) for axis i.
EMBER_API array pad(const array& a, const std::vector<std::pair<int64_t, int64_t>>& widths,
                    const array& value = array(0));
/// Basic slicing a[start:stop:step] per axis, a view. Bounds are taken as Python's
/// slice.indices(dim) returns them: no wrap-around of negative values; with a negative
/// step, stop = -1 means "through index 0". Out-of-range bounds are clamped.
EMBER_API array slice(const array& a, const std::vector<int64_t>& start,
                      const std::vector<int64_t>& stop, const std::vector<int64_t>& step);
/// A copy of `a` with `update` written into the slice (bounds as for slice); update
/// broadcasts to the slice's shape and is cast to a's dtype.
EMBER_API array slice_update(const array& a, const array& update, const std::vector<int64_t>& start,
                             const std::vector<int64_t>& stop, const std::vector<int64_t>& step);

}  // namespace ember
