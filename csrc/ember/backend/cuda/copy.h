// Copies and casts on the GPU (copy.cu): the building blocks of the shape primitives and of
// kernels that want dense inputs.
#pragma once

#include "ember/backend/cuda/cuda.h"

namespace ember::cuda {

/// Copies src's elements, read as `shape` with `src_strides` (from src's first element), to
/// device memory `dst` with `dst_strides`, converting to dst_dtype; queued on s.
void copy_strided_gpu(const array& src, const Shape& shape, const Strides& src_strides, void* dst,
                      Dtype dst_dtype, const Strides& dst_strides, const Stream& s);
/// The same, starting src_offset elements after src's first element.
void copy_strided_gpu_at(const array& src, int64_t src_offset, const Shape& shape,
                         const Strides& src_strides, void* dst, Dtype dst_dtype,
                         const Strides& dst_strides, const Stream& s);
/// Writes src into dst's (device) buffer through dst_strides from element dst_offset,
/// converting the dtype (the GPU form of cpu::copy_into).
void copy_into_gpu(const array& src, const array& dst, const Strides& dst_strides, int64_t dst_offset);
/// Allocates out (row-contiguous, on its stream's GPU) and copies src into it, converting.
void copy_cast_gpu(const array& src, array& out);
/// Sets n elements at dst to the value of the 1-element array `value` (of dst's dtype).
void fill_gpu(void* dst, int64_t n, const array& value, const Stream& s);

/// A row-contiguous copy, made on stream s, of x's elements read as `shape` with `strides`
/// (from x's first element); kept alive until the work queued on s has finished. For
/// operands with too many dimensions, and kernels that want dense inputs.
array contiguous_copy(const array& x, const Shape& shape, const Strides& strides, const Stream& s);
inline array contiguous_copy(const array& x, const Stream& s) {
  return contiguous_copy(x, x.shape(), x.strides(), s);
}

/// Strides of `x` against `shape` (numpy broadcasting: right-aligned, 0 on broadcast dims).
Strides broadcast_strides(const array& x, const Shape& shape);

/// 1 when `x`, broadcast to `shape`, is dense in row-major order, 0 when it is one repeated
/// value, -1 otherwise: the two cases a linear elementwise kernel reads (elementwise.cuh).
int linear_stride(const array& x, const Shape& shape);

}  // namespace ember::cuda
