// CUDA kernels of copies and casts, and of the primitives made of them: Copy, AsType,
// Reshape (of a non-contiguous input), View, Concatenate, Pad, SliceUpdate, and Arange.
// Plain copies move bytes (one kernel per element size); casts convert element by element
// with types.cuh's rules. Every copy takes any strides on both sides.
#include "ember/backend/cuda/copy.h"
#include "ember/backend/cuda/elementwise.cuh"
#include "ember/primitives/creation.h"
#include "ember/primitives/shape.h"
#include "ember/primitives/unary.h"

namespace ember::cuda {

namespace {

template <typename U, typename IdxT>
__global__ void copy_strided(const U* __restrict__ src, U* __restrict__ dst, IdxT n, Dims<2> d) {
  for (IdxT i = IdxT(blockIdx.x) * kBlock + threadIdx.x; i < n; i += IdxT(gridDim.x) * kBlock) {
    IdxT off[2];
    offsets_of(i, d, off);
    dst[off[1]] = src[off[0]];
  }
}

template <typename S, typename D>
__global__ void cast_linear(const S* __restrict__ src, D* __restrict__ dst, long long n) {
  for (long long base = (long long)blockIdx.x * kBlock * kPerThread + threadIdx.x; base < n;
       base += (long long)gridDim.x * kBlock * kPerThread) {
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      const long long i = base + j * kBlock;
      if (i < n) dst[i] = convert<D>(src[i]);
    }
  }
}

template <typename S, typename D>
__global__ void cast_strided(const S* __restrict__ src, D* __restrict__ dst, long long n, Dims<2> d) {
  for (long long i = (long long)blockIdx.x * kBlock + threadIdx.x; i < n;
       i += (long long)gridDim.x * kBlock) {
    long long off[2];
    offsets_of(i, d, off);
    dst[off[1]] = convert<D>(src[off[0]]);
  }
}

template <typename U>
__global__ void fill_value(U* __restrict__ dst, long long n, U value) {
  for (long long i = (long long)blockIdx.x * kBlock + threadIdx.x; i < n;
       i += (long long)gridDim.x * kBlock) {
    dst[i] = value;
  }
}

template <typename U>
__global__ void fill_from(U* __restrict__ dst, long long n, const U* __restrict__ value) {
  const U v = *value;
  for (long long i = (long long)blockIdx.x * kBlock + threadIdx.x; i < n;
       i += (long long)gridDim.x * kBlock) {
    dst[i] = v;
  }
}

template <typename T>
__global__ void arange_kernel(T* __restrict__ y, long long n, double start, double step) {
  for (long long i = (long long)blockIdx.x * kBlock + threadIdx.x; i < n;
       i += (long long)gridDim.x * kBlock) {
    y[i] = convert<T>(start + double(i) * step);
  }
}

// An unsigned type of `size` bytes: copies move bits.
template <typename F>
void dispatch_size(size_t size, F&& f) {
  switch (size) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    default: return f(uint64_t{});
  }
}

bool dense_row_major(const Shape& shape, const Strides& strides) {
  int64_t expect = 1;
  for (int i = int(shape.size()) - 1; i >= 0; --i) {
    if (shape[i] == 1) continue;
    if (strides[i] != expect) return false;
    expect *= shape[i];
  }
  return true;
}

}  // namespace

void copy_strided_gpu(const array& src, const Shape& shape, const Strides& src_strides,
                      void* dst, Dtype dst_dtype, const Strides& dst_strides, const Stream& s) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  if (n == 0) return;
  const void* sp = input_ptr(src, s);
  cudaStream_t cs = stream_of(s);
  const bool same = src.dtype() == dst_dtype;
  if (same && dense_row_major(shape, src_strides) && dense_row_major(shape, dst_strides)) {
    EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, sp, size_t(n) * src.itemsize(), cudaMemcpyDeviceToDevice, cs));
    return;
  }
  Dims<2> d;
  bool fits32;
  if (!make_dims<2>(shape, {&src_strides, &dst_strides}, d, fits32)) {
    // More than kMaxDims dimensions that cannot merge: copy one leading index at a time.
    Shape inner(shape.begin() + 1, shape.end());
    Strides si(src_strides.begin() + 1, src_strides.end());
    Strides di(dst_strides.begin() + 1, dst_strides.end());
    const size_t out_item = size_of(dst_dtype);
    for (int64_t i = 0; i < shape[0]; ++i) {
      copy_strided_gpu_at(src, i * src_strides[0], inner, si,
                          static_cast<char*>(dst) + i * dst_strides[0] * int64_t(out_item), dst_dtype,
                          di, s);
    }
    return;
  }
  if (same) {
    dispatch_size(src.itemsize(), [&](auto tag) {
      using U = decltype(tag);
      if (fits32) {
        copy_strided<U, int><<<strided_grid(n), kBlock, 0, cs>>>(static_cast<const U*>(sp),
                                                                 static_cast<U*>(dst), int(n), d);
      } else {
        copy_strided<U, long long><<<strided_grid(n), kBlock, 0, cs>>>(
            static_cast<const U*>(sp), static_cast<U*>(dst), n, d);
      }
    });
    return check_launch("copy");
  }
  dispatch(src.dtype(), [&](auto stag) {
    using S = decltype(stag);
    dispatch(dst_dtype, [&](auto dtag) {
      using D = decltype(dtag);
      if (dense_row_major(shape, src_strides) && dense_row_major(shape, dst_strides)) {
        cast_linear<S, D><<<linear_grid(n), kBlock, 0, cs>>>(static_cast<const S*>(sp),
                                                             static_cast<D*>(dst), n);
      } else {
        cast_strided<S, D><<<strided_grid(n), kBlock, 0, cs>>>(static_cast<const S*>(sp),
                                                               static_cast<D*>(dst), n, d);
      }
    });
  });
  check_launch("astype");
}

void copy_strided_gpu_at(const array& src, int64_t src_offset, const Shape& shape,
                         const Strides& src_strides, void* dst, Dtype dst_dtype,
                         const Strides& dst_strides, const Stream& s) {
  // A handle on the same data whose first element is src_offset elements further.
  array shifted = array::placeholder(shape, src.dtype());
  Strides st = src_strides;
  shifted.set_view(src, st, src.offset() + src_offset);
  copy_strided_gpu(shifted, shape, src_strides, dst, dst_dtype, dst_strides, s);
}

void copy_into_gpu(const array& src, const array& dst, const Strides& dst_strides,
                   int64_t dst_offset) {
  if (src.size() == 0) return;
  char* base = static_cast<char*>(dst.buffer()->home()) + dst_offset * int64_t(dst.itemsize());
  copy_strided_gpu(src, src.shape(), src.strides(), base, dst.dtype(), dst_strides, dst.stream());
}

void copy_cast_gpu(const array& src, array& out) {
  void* y = output_ptr(out);
  copy_strided_gpu(src, src.shape(), src.strides(), y, out.dtype(), out.strides(), out.stream());
}

array contiguous_copy(const array& x, const Shape& shape, const Strides& strides, const Stream& s) {
  array out = device_array(shape, x.dtype(), s);
  copy_strided_gpu(x, shape, strides, out.buffer()->home(), x.dtype(), out.strides(), s);
  return out;
}

void fill_gpu(void* dst, int64_t n, const array& value, const Stream& s) {
  if (n == 0) return;
  cudaStream_t cs = stream_of(s);
  dispatch_size(value.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    U v;
    if (host_scalar(value, &v)) {
      fill_value<U><<<strided_grid(n), kBlock, 0, cs>>>(static_cast<U*>(dst), n, v);
    } else {
      fill_from<U><<<strided_grid(n), kBlock, 0, cs>>>(static_cast<U*>(dst), n,
                                                        static_cast<const U*>(input_ptr(value, s)));
    }
  });
  check_launch("fill");
}

Strides broadcast_strides(const array& x, const Shape& shape) {
  const int nd = int(shape.size());
  const int off = nd - x.ndim();
  Strides st(nd, 0);
  for (int d = 0; d < x.ndim(); ++d) {
    if (x.shape(d) != 1) st[off + d] = x.strides()[d];
  }
  return st;
}

int linear_stride(const array& x, const Shape& shape) {
  if (x.size() == 1) return 0;
  if (x.shape() == shape && x.flags().row_contiguous) return 1;
  const Strides st = broadcast_strides(x, shape);
  for (int i = 0; i < int(shape.size()); ++i) {
    if (st[i] != 0 && shape[i] != 1) return -1;
  }
  return 0;
}

}  // namespace ember::cuda

// ==== primitives ===========================================================================
namespace ember {

using namespace ember::cuda;

void Copy::eval_gpu(const std::vector<array>& inputs, array& out) { copy_cast_gpu(inputs[0], out); }

void AsType::eval_gpu(const std::vector<array>& inputs, array& out) { copy_cast_gpu(inputs[0], out); }

void Reshape::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  if (in.flags().row_contiguous) {
    out.set_view(in, row_major_strides(out.shape()), in.offset());
    return;
  }
  void* y = output_ptr(out);
  // In logical (row-major) order: the output's flat layout is the input's.
  copy_strided_gpu(in, in.shape(), in.strides(), y, out.dtype(), row_major_strides(in.shape()),
                   out.stream());
}

void View::eval_gpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  if (in.flags().row_contiguous && (in.offset() * int64_t(in.itemsize())) % out.itemsize() == 0) {
    out.set_view(in, row_major_strides(out.shape()),
                 in.offset() * int64_t(in.itemsize()) / int64_t(out.itemsize()));
    return;
  }
  const Stream s = out.stream();
  array c = contiguous_copy(in, s);
  void* y = output_ptr(out);
  if (out.nbytes() > 0) {
    EMBER_CUDA_CHECK(cudaMemcpyAsync(y, c.buffer()->home(), out.nbytes(), cudaMemcpyDeviceToDevice,
                                     stream_of(s)));
  }
}

void Concatenate::eval_gpu(const std::vector<array>& inputs, array& out) {
  output_ptr(out);
  int64_t offset = 0;
  for (const array& in : inputs) {
    copy_into_gpu(in, out, out.strides(), offset);
    offset += in.shape(axis_) * out.strides()[axis_];
  }
}

void Pad::eval_gpu(const std::vector<array>& inputs, array& out) {
  void* y = output_ptr(out);
  fill_gpu(y, out.size(), inputs[1], out.stream());
  int64_t offset = 0;
  for (int i = 0; i < out.ndim(); ++i) offset += widths_[i].first * out.strides()[i];
  copy_into_gpu(inputs[0], out, out.strides(), offset);
}

void SliceUpdate::eval_gpu(const std::vector<array>& inputs, array& out) {
  copy_cast_gpu(inputs[0], out);
  // As the CPU kernel: an empty window writes nothing; a window dimension of one element
  // keeps its stride (times a step near 2^63 it would overflow int64).
  const array& window = inputs[1];
  if (window.size() == 0) return;
  Strides st(out.ndim());
  int64_t offset = 0;
  for (int i = 0; i < out.ndim(); ++i) {
    st[i] = window.shape(i) == 1 ? out.strides()[i] : out.strides()[i] * step_[i];
    offset += start_[i] * out.strides()[i];
  }
  copy_into_gpu(window, out, st, offset);
}

void Arange::eval_gpu(const std::vector<array>&, array& out) {
  const int64_t n = out.size();
  dispatch(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* y = out_ptr<T>(out);
    if (n == 0) return;
    arange_kernel<T><<<strided_grid(n), kBlock, 0, stream_of(out.stream())>>>(y, n, start_, step_);
  });
  check_launch("arange");
}

}  // namespace ember
