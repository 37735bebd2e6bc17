// CUDA kernels of Gather and Scatter (integer-array indexing over leading axes, and its
// accumulating forms). Both first turn the index arrays into one element offset per index
// position; an index out of bounds is reported through the device error word (cuda.h), which
// the next synchronize raises as IndexError, and is clamped so that no kernel reads or writes
// outside the buffer. Scatter keeps the CPU's results: with repeated indices `write` keeps the
// last update in row-major order (a first pass elects, per output element, the last position
// that writes it), and the accumulating modes use atomics.
#include "ember/backend/cuda/copy.h"
#include "ember/backend/cuda/elementwise.cuh"
#include "ember/primitives/index.h"

namespace ember::cuda {

namespace {

// offsets[p] += wrap(idx[p]) * stride over the index positions p (row-major over idx's shape).
template <typename I>
__global__ void add_offsets(const I* __restrict__ idx, Dims<1> d, long long positions,
                            long long dim, long long stride, long long* __restrict__ offsets,
                            DeviceErrors* err, unsigned long long tag, int axis, const char* op,
                            const void* out) {
  for (long long p = (long long)blockIdx.x * blockDim.x + threadIdx.x; p < positions;
       p += (long long)gridDim.x * blockDim.x) {
    long long off[1];
    offsets_of(p, d, off);
    const I raw = idx[off[0]];
    long long j = (long long)raw;
    bool bad;
    if constexpr (::cuda::std::is_unsigned_v<I>) {
      bad = (unsigned long long)raw >= (unsigned long long)dim;
    } else {
      if (j < 0) j += dim;
      bad = j < 0 || j >= dim;
    }
    if (bad) {
      // The op's record: the first free one, or the one another thread of it claimed.
      int r = 0;
      for (; r < kErrorRecords; ++r) {
        const unsigned long long seen = atomicCAS(&err->record[r].tag, 0ull, tag);
        if (seen == 0ull) {
          DeviceError& e = err->record[r];
          e.out = out;
          e.axis = axis;
          e.index = (long long)raw;
          e.dim = dim;
          e.op = op;
          e.flag = ::cuda::std::is_unsigned_v<I> ? 2 : 1;
          break;
        }
        if (seen == tag) break;
      }
      if (r == kErrorRecords) err->overflow = 1;
      j = 0;
    }
    offsets[p] += j * stride;
  }
}

template <typename U>
__global__ void gather_kernel(const U* __restrict__ a, const long long* __restrict__ src,
                              long long positions, long long slice, Dims<1> rest,
                              U* __restrict__ y) {
  const long long n = positions * slice;
  for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < n;
       t += (long long)gridDim.x * blockDim.x) {
    const long long p = t / slice, i = t - p * slice;
    long long off[1];
    offsets_of(i, rest, off);
    y[t] = a[src[p] + off[0]];
  }
}

// Scatter, write mode, first pass: winner[o] = the last position p writing output element o.
__global__ void elect_last(const long long* __restrict__ dst, long long positions, long long slice,
                           long long* __restrict__ winner) {
  const long long n = positions * slice;
  for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < n;
       t += (long long)gridDim.x * blockDim.x) {
    const long long p = t / slice, i = t - p * slice;
    atomicMax(reinterpret_cast<unsigned long long*>(winner + dst[p] + i), (unsigned long long)p);
  }
}

template <typename U>
__global__ void scatter_write(const long long* __restrict__ dst, long long positions,
                              long long slice, const U* __restrict__ u, Dims<1> ud,
                              const long long* __restrict__ winner, U* __restrict__ y) {
  const long long n = positions * slice;
  for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < n;
       t += (long long)gridDim.x * blockDim.x) {
    const long long p = t / slice, i = t - p * slice;
    const long long o = dst[p] + i;
    if (winner && (long long)winner[o] != p) continue;
    long long off[1];
    offsets_of(t, ud, off);
    y[o] = u[off[0]];
  }
}

// ---- atomic read-modify-write of any element type ----
template <typename T, typename F>
__device__ void atomic_update(T* addr, F f) {
  if constexpr (sizeof(T) == 8) {
    auto* word = reinterpret_cast<unsigned long long*>(addr);
    unsigned long long old = *word, assumed;
    do {
      assumed = old;
      T cur;
      memcpy(&cur, &assumed, 8);
      T next = f(cur);
      unsigned long long nb;
      memcpy(&nb, &next, 8);
      old = atomicCAS(word, assumed, nb);
    } while (old != assumed);
  } else if constexpr (sizeof(T) == 4) {
    auto* word = reinterpret_cast<unsigned int*>(addr);
    unsigned int old = *word, assumed;
    do {
      assumed = old;
      T cur;
      memcpy(&cur, &assumed, 4);
      T next = f(cur);
      unsigned int nb;
      memcpy(&nb, &next, 4);
      old = atomicCAS(word, assumed, nb);
    } while (old != assumed);
  } else {
    // 1 or 2 bytes: update their part of the aligned 32-bit word that holds them.
    const size_t a = reinterpret_cast<size_t>(addr);
    auto* word = reinterpret_cast<unsigned int*>(a & ~size_t(3));
    const unsigned shift = unsigned(a & 3) * 8;
    const unsigned mask = sizeof(T) == 1 ? 0xffu : 0xffffu;
    unsigned int old = *word, assumed;
    do {
      assumed = old;
      const unsigned bits = (assumed >> shift) & mask;
      T cur;
      memcpy(&cur, &bits, sizeof(T));
      T next = f(cur);
      unsigned nbits = 0;
      memcpy(&nbits, &next, sizeof(T));
      const unsigned nb = (assumed & ~(mask << shift)) | ((nbits & mask) << shift);
      old = atomicCAS(word, assumed, nb);
    } while (old != assumed);
  }
}

template <typename T>
__device__ __forceinline__ T add_values(T x, T y) {
  if constexpr (::cuda::std::is_same_v<T, bool>) return x || y;
  else if constexpr (is_half_v<T>) return from_float<T>(to_float(x) + to_float(y));
  else return T(x + y);
}
template <typename T>
__device__ __forceinline__ T mul_values(T x, T y) {
  if constexpr (::cuda::std::is_same_v<T, bool>) return x && y;
  else if constexpr (is_half_v<T>) return from_float<T>(to_float(x) * to_float(y));
  else return T(x * y);
}
// numpy's maximum.at / minimum.at: a NaN on either side wins.
template <typename T>
__device__ __forceinline__ T extremum(T x, T y, bool is_max) {
  const auto a = load(x), b = load(y);
  if constexpr (::cuda::std::is_floating_point_v<decltype(a)>) {
    if (a != a) return x;
    if (b != b) return y;
  }
  return (is_max ? b > a : b < a) ? y : x;
}

template <typename T>
__device__ __forceinline__ void atomic_add(T* addr, T v) {
  if constexpr (::cuda::std::is_same_v<T, float> || ::cuda::std::is_same_v<T, double> ||
                ::cuda::std::is_same_v<T, int> || ::cuda::std::is_same_v<T, unsigned int> ||
                ::cuda::std::is_same_v<T, unsigned long long>) {
    atomicAdd(addr, v);
  } else if constexpr (is_complex_v<T>) {
    float* f = reinterpret_cast<float*>(addr);
    atomicAdd(f, v.real());
    atomicAdd(f + 1, v.imag());
  } else {
    atomic_update(addr, [v](T cur) { return add_values(cur, v); });
  }
}

template <typename T>
__global__ void scatter_accumulate(const long long* __restrict__ dst, long long positions,
                                   long long slice, const T* __restrict__ u, Dims<1> ud,
                                   int mode, T* __restrict__ y) {
  const long long n = positions * slice;
  for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < n;
       t += (long long)gridDim.x * blockDim.x) {
    const long long p = t / slice, i = t - p * slice;
    long long off[1];
    offsets_of(t, ud, off);
    const T v = u[off[0]];
    T* o = y + dst[p] + i;
    switch (mode) {
      case 0: atomic_add(o, v); break;
      case 1: atomic_update(o, [v](T cur) { return mul_values(cur, v); }); break;
      default:
        if constexpr (!is_complex_v<T>) {
          const bool is_max = mode == 2;
          atomic_update(o, [v, is_max](T cur) { return extremum(cur, v, is_max); });
        }
        break;
    }
  }
}

template <typename F>
void dispatch_size(size_t size, F&& f) {
  switch (size) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    default: return f(uint64_t{});
  }
}

Dims<1> dims1(const Shape& shape, const Strides& strides) {
  auto L = detail::collapse<1>(shape, {&strides});
  Dims<1> d{};
  d.ndim = int(L.shape.size());
  for (int i = 0; i < d.ndim; ++i) {
    d.shape[i] = L.shape[i];
    d.strides[0][i] = L.strides[0][i];
  }
  return d;
}

// Whether a shape/strides pair collapses to at most kMaxDims dims.
bool fits(const Shape& shape, const Strides& strides) {
  return int(detail::collapse<1>(shape, {&strides}).shape.size()) <= kMaxDims;
}

// The offset (in elements of a view with `strides`) of every index position. An index out
// of bounds is reported for the op's output block `out` (cuda.h's DeviceError).
Scratch index_offsets(const std::string& op, const std::vector<int>& labels,
                      const std::vector<array>& idx, const Shape& shape, const Strides& strides,
                      const Stream& s, const void* out) {
  const int64_t positions = idx[0].size();
  Scratch offsets(size_t(std::max<int64_t>(positions, 1)) * sizeof(long long), s);
  cudaStream_t cs = stream_of(s);
  EMBER_CUDA_CHECK(cudaMemsetAsync(offsets.get(), 0, size_t(positions) * sizeof(long long), cs));
  if (positions == 0) return offsets;
  DeviceErrors* err = device_error(s.device.index);
  const char* name = intern(op);
  const unsigned long long node = node_tag();
  for (size_t j = 0; j < idx.size(); ++j) {
    const array& ix = fits(idx[j].shape(), idx[j].strides()) ? idx[j] : contiguous_copy(idx[j], s);
    const int label = j < labels.size() ? labels[j] : int(j);
    const Dims<1> d = dims1(ix.shape(), ix.strides());
    dispatch(ix.dtype(), [&](auto tag) {
      using I = decltype(tag);
      if constexpr (::cuda::std::is_integral_v<I> && !::cuda::std::is_same_v<I, bool>) {
        add_offsets<I><<<strided_grid(positions), kBlock, 0, cs>>>(
            in<I>(ix, s), d, positions, shape[j], strides[j], offsets.as<long long>(), err, node,
            label, name, out);
      } else {
        throw type_error(msg("[", op, "] Indices must be integers, got ", dtype_name(ix.dtype()), "."));
      }
    });
    check_launch("index");
  }
  return offsets;
}

}  // namespace

}  // namespace ember::cuda

namespace ember {

using namespace ember::cuda;

void Gather::eval_gpu(const std::vector<array>& inputs, array& out) {
  const Stream s = out.stream();
  void* y = output_ptr(out);
  const array& a_in = inputs[0];
  std::vector<array> idx(inputs.begin() + 1, inputs.end());
  const int k = int(idx.size());
  // The slices' dims must collapse to kMaxDims: otherwise gather from a dense copy.
  const bool ok = fits(Shape(a_in.shape().begin() + k, a_in.shape().end()),
                       Strides(a_in.strides().begin() + k, a_in.strides().end()));
  const array a = ok ? a_in : contiguous_copy(a_in, s);
  Scratch src = index_offsets(op_, axes_, idx, a.shape(), a.strides(), s, y);
  if (out.size() == 0) return;
  Shape rest(a.shape().begin() + k, a.shape().end());
  Strides rest_strides(a.strides().begin() + k, a.strides().end());
  const int64_t slice = shape_size(rest), positions = idx[0].size();
  const Dims<1> rd = dims1(rest, rest_strides);
  cudaStream_t cs = stream_of(s);
  dispatch_size(a.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    gather_kernel<U><<<strided_grid(positions * slice), kBlock, 0, cs>>>(
        static_cast<const U*>(input_ptr(a, s)), src.as<long long>(), positions, slice, rd,
        static_cast<U*>(y));
  });
  check_launch("gather");
}

void Scatter::eval_gpu(const std::vector<array>& inputs, array& out) {
  const Stream s = out.stream();
  copy_cast_gpu(inputs[0], out);
  const array& u_in = inputs[1];
  std::vector<array> idx(inputs.begin() + 2, inputs.end());
  void* y = device_ptr_of_output(out);
  Scratch dst = index_offsets(op_, axes_, idx, out.shape(), out.strides(), s, y);
  if (u_in.size() == 0) return;
  const int k = int(idx.size());
  Shape rest(out.shape().begin() + k, out.shape().end());
  const int64_t slice = shape_size(rest), positions = idx[0].size();
  const array u = fits(u_in.shape(), u_in.strides()) ? u_in : contiguous_copy(u_in, s);
  const Dims<1> ud = dims1(u.shape(), u.strides());
  cudaStream_t cs = stream_of(s);
  const int64_t n = positions * slice;
  if (mode_ == ScatterMode::write) {
    const bool repeats_possible = positions > 1;
    Scratch winner(repeats_possible ? size_t(out.size()) * sizeof(long long) : 1, s);
    if (repeats_possible) {
      EMBER_CUDA_CHECK(cudaMemsetAsync(winner.get(), 0, size_t(out.size()) * sizeof(long long), cs));
      elect_last<<<strided_grid(n), kBlock, 0, cs>>>(dst.as<long long>(), positions, slice,
                                                      winner.as<long long>());
    }
    dispatch_size(out.itemsize(), [&](auto tag) {
      using U = decltype(tag);
      scatter_write<U><<<strided_grid(n), kBlock, 0, cs>>>(
          dst.as<long long>(), positions, slice, static_cast<const U*>(input_ptr(u, s)), ud,
          repeats_possible ? winner.as<long long>() : nullptr, static_cast<U*>(y));
    });
    return check_launch("scatter");
  }
  const int mode = mode_ == ScatterMode::add ? 0 : mode_ == ScatterMode::prod ? 1 : mode_ == ScatterMode::max ? 2 : 3;
  if ((mode >= 2) && is_complex(out.dtype())) {
    throw type_error(msg("[", op_, "] maximum / minimum are not defined for complex64."));
  }
  dispatch(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    scatter_accumulate<T><<<strided_grid(n), kBlock, 0, cs>>>(
        dst.as<long long>(), positions, slice, in<T>(u, s), ud, mode, static_cast<T*>(y));
  });
  check_launch("scatter");
}

}  // namespace ember
