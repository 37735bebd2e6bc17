// Strided copy with dtype conversion: the kernel behind astype, making a view
// contiguous, and concatenation into slices of an output.
#pragma once

#include "ember/array.h"

namespace ember::cpu {

/// Copies src into dst element by element (same shape), converting the dtype.
/// dst must have its buffer; both may have any strides.
void copy_cast(const array& src, array& dst);

/// Like copy_cast, but writes into dst's buffer through the given strides and
/// element offset (dst's own shape/strides are ignored); src's shape is used.
void copy_into(const array& src, const array& dst, const Strides& dst_strides, int64_t dst_offset);

/// A row-contiguous version of `a`: `a` itself when it already is, else a copy.
array ensure_row_contiguous(const array& a);

}  // namespace ember::cpu
