// Shape ops. reshape, transpose, broadcast_to, expand_dims, squeeze and slices
// are views (no copy) when the layout allows.
#pragma once

#include <optional>
#include <string>
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

/// Reverses the order of elements along the given axes (all when nullopt); a view.
EMBER_API array flip(const array& a, const std::optional<std::vector<int>>& axes = std::nullopt);
/// Rolls elements by shift[i] along axes[i] (the flattened array when axes is nullopt,
/// then shift has one value); elements that fall off one end come back at the other.
EMBER_API array roll(const array& a, const std::vector<int64_t>& shift,
                     const std::optional<std::vector<int>>& axes = std::nullopt);
/// numpy.diagonal: the diagonal at `offset` of the (axis1, axis2) planes, as the last axis.
EMBER_API array diagonal(const array& a, int offset = 0, int axis1 = 0, int axis2 = 1);
/// numpy.diag: the k-th diagonal of a 2-D array, or a 2-D array with a 1-D a on diagonal k.
EMBER_API array diag(const array& a, int k = 0);
/// a with at least 1 / 2 / 3 dimensions (numpy's placement of the new axes).
EMBER_API array atleast_1d(const array& a);
EMBER_API array atleast_2d(const array& a);
EMBER_API array atleast_3d(const array& a);
/// Splits axis into the dimensions of shape (one may be -1).
EMBER_API array unflatten(const array& a, int axis, const Shape& shape);
/// The slices of a along axis, each without that axis.
EMBER_API std::vector<array> unstack(const array& a, int axis = 0);
/// Coordinate arrays of the 1-D (flattened) inputs; indexing "xy" (Cartesian) or "ij".
/// sparse=true gives broadcastable arrays instead of full ones.
EMBER_API std::vector<array> meshgrid(const std::vector<array>& arrays, bool sparse = false,
                                      const std::string& indexing = "xy");
/// The n-th discrete difference along axis: a[1:] - a[:-1] applied n times (bool: !=).
EMBER_API array diff(const array& a, int n = 1, int axis = -1);
/// A view of a's row-major elements with the given shape and strides (in elements) from
/// offset; every position must lie inside a (ValueError otherwise). Strides default to
/// row-major strides of shape. The result is a copy (a gather), so it is differentiable.
EMBER_API array as_strided(const array& a, const Shape& shape,
                           const std::optional<Strides>& strides = std::nullopt,
                           int64_t offset = 0);
/// A row-contiguous copy of a, unless it already is one (then a itself).
EMBER_API array contiguous(const array& a, bool allow_col_major = false);
/// Dynamic slice: a[start[i] : start[i] + size[i]] along axes[i], start an integer
/// array (one value per axis) known only at eval; starts are clamped so the window fits.
EMBER_API array slice(const array& a, const array& start, const std::vector<int>& axes,
                      const Shape& slice_size);
/// Dynamic slice_update: a copy of a with update written at start along axes (clamped).
EMBER_API array slice_update(const array& a, const array& update, const array& start,
                             const std::vector<int>& axes);
/// a's bytes read as dtype (numpy's view): the last axis is scaled by the item-size
/// ratio, which must divide it; a 0-d a needs equal sizes.
EMBER_API array view(const array& a, Dtype dtype);
/// inputs, unchanged, made to depend on dependencies: evaluating one of them
/// evaluates the dependencies too (gradients flow to the inputs only).
EMBER_API std::vector<array> depends(const std::vector<array>& inputs,
                                     const std::vector<array>& dependencies);

}  // namespace ember
