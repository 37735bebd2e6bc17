// The elementwise kernels of the CUDA backend (unary, binary, ternary, copies), and their host
// side: operands are collapsed to the fewest dimensions (backend/common/strided.h), then
//  * a linear kernel runs when every operand is dense in the output's order or one repeated
//    value (a host scalar is passed by value, so `x * 2.0` reads no extra memory);
//  * a strided kernel runs otherwise, computing each operand's offset from the element index
//    in 32-bit arithmetic (operands whose offsets need more are first copied dense; the copy
//    kernels also have a 64-bit form).
// Each thread handles kPerThread elements spaced a block apart, so loads stay coalesced.
#pragma once

#include <algorithm>
#include <array>
#include <stdexcept>

#include "ember/backend/common/strided.h"
#include "ember/backend/cuda/copy.h"
#include "ember/backend/cuda/cuda.h"
#include "ember/backend/cuda/ops.cuh"
#include "ember/errors.h"

namespace ember::cuda {

constexpr int kBlock = 256;
constexpr int kPerThread = 4;
constexpr int kMaxDims = 8;

/// A collapsed shape and the strides of N operands over it (elements).
template <int N>
struct Dims {
  int ndim;
  long long shape[kMaxDims];
  long long strides[N][kMaxDims];
};

/// Element offsets of linear index i for each operand.
template <typename IdxT, int N>
__device__ __forceinline__ void offsets_of(IdxT i, const Dims<N>& d, IdxT (&off)[N]) {
#pragma unroll
  for (int k = 0; k < N; ++k) off[k] = 0;
#pragma unroll
  for (int dim = kMaxDims - 1; dim >= 0; --dim) {
    if (dim < d.ndim) {
      const IdxT extent = IdxT(d.shape[dim]);
      const IdxT q = i / extent;
      const IdxT r = i - q * extent;
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += r * IdxT(d.strides[k][dim]);
      i = q;
    }
  }
}

/// One operand of a linear kernel: dense (stride 1) or one repeated value (stride 0), read
/// from `ptr`, or given by value when ptr is null.
template <typename T>
struct Operand {
  const T* ptr;
  T value;
  int stride;
  __device__ __forceinline__ T at(long long i) const { return ptr ? ptr[i * stride] : value; }
};

template <typename R, typename T, typename Op>
__device__ __forceinline__ R apply1(const Op& op, T x) {
  if constexpr (is_half_v<T> && !::cuda::std::is_same_v<R, bool>) return from_float<T>(op(to_float(x)));
  else if constexpr (is_half_v<T>) return op(to_float(x));
  else return R(op(x));
}
template <typename R, typename T, typename Op>
__device__ __forceinline__ R apply2(const Op& op, T a, T b) {
  if constexpr (is_half_v<T> && !::cuda::std::is_same_v<R, bool>) {
    return from_float<T>(op(to_float(a), to_float(b)));
  } else if constexpr (is_half_v<T>) {
    return op(to_float(a), to_float(b));
  } else {
    return R(op(a, b));
  }
}

// ---- kernels ----
template <typename Op, typename T, typename R>
__global__ void unary_linear(const T* __restrict__ x, R* __restrict__ y, long long n) {
  const Op op;
  for (long long base = (long long)blockIdx.x * kBlock * kPerThread + threadIdx.x; base < n;
       base += (long long)gridDim.x * kBlock * kPerThread) {
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      const long long i = base + j * kBlock;
      if (i < n) y[i] = apply1<R>(op, x[i]);
    }
  }
}

template <typename Op, typename T, typename R, typename IdxT>
__global__ void unary_strided(const T* __restrict__ x, R* __restrict__ y, IdxT n, Dims<1> d) {
  const Op op;
  for (IdxT i = IdxT(blockIdx.x) * kBlock + threadIdx.x; i < n; i += IdxT(gridDim.x) * kBlock) {
    IdxT off[1];
    offsets_of(i, d, off);
    y[i] = apply1<R>(op, x[off[0]]);
  }
}

template <typename Op, typename T, typename R>
__global__ void binary_linear(Operand<T> a, Operand<T> b, R* __restrict__ y, long long n) {
  const Op op;
  for (long long base = (long long)blockIdx.x * kBlock * kPerThread + threadIdx.x; base < n;
       base += (long long)gridDim.x * kBlock * kPerThread) {
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      const long long i = base + j * kBlock;
      if (i < n) y[i] = apply2<R>(op, a.at(i), b.at(i));
    }
  }
}

template <typename Op, typename T, typename R, typename IdxT>
__global__ void binary_strided(const T* __restrict__ a, const T* __restrict__ b, R* __restrict__ y,
                               IdxT n, Dims<2> d) {
  const Op op;
  for (IdxT i = IdxT(blockIdx.x) * kBlock + threadIdx.x; i < n; i += IdxT(gridDim.x) * kBlock) {
    IdxT off[2];
    offsets_of(i, d, off);
    y[i] = apply2<R>(op, a[off[0]], b[off[1]]);
  }
}

template <typename T>
__global__ void select_linear(Operand<bool> c, Operand<T> a, Operand<T> b, T* __restrict__ y,
                              long long n) {
  for (long long base = (long long)blockIdx.x * kBlock * kPerThread + threadIdx.x; base < n;
       base += (long long)gridDim.x * kBlock * kPerThread) {
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      const long long i = base + j * kBlock;
      if (i < n) y[i] = c.at(i) ? a.at(i) : b.at(i);
    }
  }
}

template <typename T, typename IdxT>
__global__ void select_strided(const bool* __restrict__ c, const T* __restrict__ a,
                               const T* __restrict__ b, T* __restrict__ y, IdxT n, Dims<3> d) {
  for (IdxT i = IdxT(blockIdx.x) * kBlock + threadIdx.x; i < n; i += IdxT(gridDim.x) * kBlock) {
    IdxT off[3];
    offsets_of(i, d, off);
    y[i] = c[off[0]] ? a[off[1]] : b[off[2]];
  }
}

// ---- host side ----


/// The collapsed layout of N operands (strides given against `shape`); false when it has
/// more than kMaxDims dimensions (callers then make operands contiguous first).
template <int N>
bool make_dims(const Shape& shape, const std::array<const Strides*, N>& strides, Dims<N>& d,
               bool& fits32) {
  auto L = detail::collapse<N>(shape, strides);
  if (int(L.shape.size()) > kMaxDims) return false;
  d.ndim = int(L.shape.size());
  int64_t total = 1;
  for (int i = 0; i < d.ndim; ++i) {
    d.shape[i] = L.shape[i];
    total *= L.shape[i];
  }
  // (2^30, not 2^31: a grid-stride index plus the grid's width must not overflow int.)
  fits32 = total < (int64_t(1) << 30);
  for (int k = 0; k < N; ++k) {
    int64_t reach = 0;
    for (int i = 0; i < d.ndim; ++i) {
      d.strides[k][i] = L.strides[k][i];
      reach += (L.shape[i] - 1) * (L.strides[k][i] < 0 ? -L.strides[k][i] : L.strides[k][i]);
    }
    if (reach >= (int64_t(1) << 31)) fits32 = false;
  }
  return true;
}


/// Grid size of a linear kernel over n elements.
inline unsigned int linear_grid(int64_t n) { return blocks_for(n, int64_t(kBlock) * kPerThread, 1 << 20); }
/// Grid size of a strided kernel over n elements.
inline unsigned int strided_grid(int64_t n) { return blocks_for(n, kBlock, 1 << 20); }

/// Operand of a linear kernel for input x (stride 0 or 1; a host scalar by value).
template <typename T>
Operand<T> operand(const array& x, int stride, const Stream& s) {
  Operand<T> o{nullptr, T{}, stride};
  if (stride == 0 && host_scalar(x, &o.value)) return o;
  o.ptr = in<T>(x, s);
  return o;
}

template <typename Op>
void unary_gpu(const char* name, const array& x, array& out) {
  const Stream s = out.stream();
  dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (ops::unary_ok<Op, T>) {
      using R = ops::unary_result_t<Op, T>;
      static_assert(!::cuda::std::is_void_v<R>,
                    "a device functor's result type must be declared, not deduced (ops.cuh)");
      R* y = out_ptr<R>(out);
      const int64_t n = out.size();
      if (n == 0) return;
      cudaStream_t cs = stream_of(s);
      if (x.flags().row_contiguous) {
        unary_linear<Op, T, R><<<linear_grid(n), kBlock, 0, cs>>>(in<T>(x, s), y, n);
        return check_launch(name);
      }
      Dims<1> d;
      bool fits32;
      if (!make_dims<1>(out.shape(), {&x.strides()}, d, fits32) || !fits32) {
        // Many dims, or offsets past 32 bits: a dense copy first (the copy kernels take any).
        const array xx = contiguous_copy(x, s);
        unary_linear<Op, T, R><<<linear_grid(n), kBlock, 0, cs>>>(in<T>(xx, s), y, n);
        return check_launch(name);
      }
      unary_strided<Op, T, R, int><<<strided_grid(n), kBlock, 0, cs>>>(in<T>(x, s), y, int(n), d);
      return check_launch(name);
    } else {
      throw type_error(msg("[", name, "] Not supported for dtype ", dtype_name(x.dtype()), "."));
    }
  });
}

template <typename Op>
void binary_gpu(const char* name, const array& a, const array& b, array& out) {
  const Stream s = out.stream();
  dispatch(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (ops::binary_ok<Op, T>) {
      using R = ops::binary_result_t<Op, T>;
      static_assert(!::cuda::std::is_void_v<R>,
                    "a device functor's result type must be declared, not deduced (ops.cuh)");
      R* y = out_ptr<R>(out);
      const int64_t n = out.size();
      if (n == 0) return;
      cudaStream_t cs = stream_of(s);
      const int la = linear_stride(a, out.shape()), lb = linear_stride(b, out.shape());
      if (la >= 0 && lb >= 0) {
        binary_linear<Op, T, R><<<linear_grid(n), kBlock, 0, cs>>>(operand<T>(a, la, s),
                                                                    operand<T>(b, lb, s), y, n);
        return check_launch(name);
      }
      const Strides sa = broadcast_strides(a, out.shape()), sb = broadcast_strides(b, out.shape());
      Dims<2> d;
      bool fits32;
      if (!make_dims<2>(out.shape(), {&sa, &sb}, d, fits32) || !fits32) {
        // Many dims, or offsets past 32 bits: dense copies first (the copy kernels take any).
        const array ca = contiguous_copy(a, out.shape(), sa, s);
        const array cb = contiguous_copy(b, out.shape(), sb, s);
        binary_linear<Op, T, R><<<linear_grid(n), kBlock, 0, cs>>>(operand<T>(ca, 1, s),
                                                                    operand<T>(cb, 1, s), y, n);
        return check_launch(name);
      }
      binary_strided<Op, T, R, int>
          <<<strided_grid(n), kBlock, 0, cs>>>(in<T>(a, s), in<T>(b, s), y, int(n), d);
      return check_launch(name);
    } else {
      throw type_error(msg("[", name, "] Not supported for dtype ", dtype_name(a.dtype()), "."));
    }
  });
}

}  // namespace ember::cuda
