// CUDA kernels of Sort, ArgSort, ArgPartition and SearchSorted. The rows along the axis are
// laid out densely (a copy with the axis last when needed), each element becomes an unsigned
// key that orders like the value (NaNs as the largest key, so they go last as in numpy;
// complex numbers by real part, then imaginary part), and CUB's stable segmented sort orders
// (key, position) pairs row by row. ArgSort writes the positions; Sort gathers the values
// through them (so NaN payloads survive); ArgPartition is a full argsort, which satisfies a
// partition's contract.
#include <cub/device/device_segmented_sort.cuh>

#include "ember/backend/cuda/copy.h"
#include "ember/backend/cuda/elementwise.cuh"
#include "ember/primitives/index.h"

namespace ember::cuda {

namespace {

namespace cstd = ::cuda::std;

template <typename T>
using KeyOf = cstd::conditional_t<(sizeof(T) == 8), unsigned long long, unsigned int>;

// An unsigned key ordered like x, NaN largest.
template <typename T>
__device__ __forceinline__ KeyOf<T> radix_key(T x) {
  if constexpr (is_complex_v<T>) {
    const float re = x.real(), im = x.imag();
    if (re != re || im != im) return ~0ull;
    return ((unsigned long long)radix_key(re) << 32) | radix_key(im);
  } else if constexpr (is_half_v<T>) {
    return radix_key(to_float(x));
  } else if constexpr (cstd::is_floating_point_v<T>) {
    using U = KeyOf<T>;
    constexpr U top = U(1) << (8 * sizeof(U) - 1);
    if (x != x) return ~U(0);
    if (x == T(0)) x = T(0);  // -0.0 and 0.0 are equal
    U b;
    memcpy(&b, &x, sizeof(U));
    return (b & top) ? U(~b) : U(b | top);
  } else if constexpr (cstd::is_same_v<T, bool>) {
    return x ? 1u : 0u;
  } else if constexpr (cstd::is_signed_v<T>) {
    using U = KeyOf<T>;
    constexpr U top = U(1) << (8 * sizeof(U) - 1);
    return U((cstd::conditional_t<(sizeof(T) == 8), long long, int>)x) ^ top;
  } else {
    return KeyOf<T>(x);
  }
}

template <typename T>
__global__ void make_keys(const T* __restrict__ x, long long n_total, long long n,
                          KeyOf<T>* __restrict__ keys, unsigned int* __restrict__ pos) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n_total;
       i += (long long)gridDim.x * blockDim.x) {
    keys[i] = radix_key(x[i]);
    pos[i] = unsigned(i % n);
  }
}

__global__ void row_offsets(long long* __restrict__ offsets, long long rows, long long n) {
  for (long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x; r <= rows;
       r += (long long)gridDim.x * blockDim.x) {
    offsets[r] = r * n;
  }
}

// Writes row r's sorted result to out through its strides: positions (argsort) or values.
template <typename U, bool kValues>
__global__ void write_rows(const unsigned int* __restrict__ pos, const U* __restrict__ x,
                           long long rows, long long n, Dims<1> out_rows, long long out_stride,
                           U* __restrict__ y_values, unsigned int* __restrict__ y_pos) {
  for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < rows * n;
       t += (long long)gridDim.x * blockDim.x) {
    const long long r = t / n, j = t - r * n;
    long long off[1];
    offsets_of(r, out_rows, off);
    const long long o = off[0] + j * out_stride;
    if constexpr (kValues) y_values[o] = x[r * n + pos[t]];
    else y_pos[o] = pos[t];
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

// Sorts the rows of `in` along `axis`; writes positions (values == false) or values to out.
void sort_rows(const array& src, array& out, int axis, bool values) {
  const Stream s = out.stream();
  output_ptr(out);
  const int64_t n = src.shape(axis);
  if (out.size() == 0) return;
  const int64_t rows = src.size() / n;
  cudaStream_t cs = stream_of(s);
  // Dense rows, axis last.
  Shape shape;
  Strides st, out_st;
  for (int i = 0; i < src.ndim(); ++i) {
    if (i == axis) continue;
    shape.push_back(src.shape(i));
    st.push_back(src.strides()[i]);
    out_st.push_back(out.strides()[i]);
  }
  shape.push_back(n);
  st.push_back(src.strides()[axis]);
  const array x = contiguous_copy(src, shape, st, s);
  shape.pop_back();
  auto L = detail::collapse<1>(shape, {&out_st});
  if (int(L.shape.size()) > kMaxDims) {
    throw std::invalid_argument("[sort] Too many dimensions for the GPU kernel.");
  }
  Dims<1> od{};
  od.ndim = int(L.shape.size());
  for (int i = 0; i < od.ndim; ++i) {
    od.shape[i] = L.shape[i];
    od.strides[0][i] = L.strides[0][i];
  }
  const int64_t total = rows * n;
  if (n > (int64_t(1) << 32) - 1) throw std::invalid_argument("[sort] Rows longer than 2^32.");
  Scratch pos_in(size_t(total) * 4, s), pos_out(size_t(total) * 4, s);
  Scratch offsets(size_t(rows + 1) * sizeof(long long), s);
  row_offsets<<<strided_grid(rows + 1), kBlock, 0, cs>>>(offsets.as<long long>(), rows, n);
  dispatch(src.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using K = KeyOf<T>;
    Scratch keys_in(size_t(total) * sizeof(K), s), keys_out(size_t(total) * sizeof(K), s);
    make_keys<T><<<strided_grid(total), kBlock, 0, cs>>>(in<T>(x, s), total, n, keys_in.as<K>(),
                                                          pos_in.as<unsigned int>());
    size_t temp_bytes = 0;
    const long long* off = offsets.as<long long>();
    EMBER_CUDA_CHECK(cub::DeviceSegmentedSort::StableSortPairs(
        nullptr, temp_bytes, keys_in.as<K>(), keys_out.as<K>(), pos_in.as<unsigned int>(),
        pos_out.as<unsigned int>(), total, rows, off, off + 1, cs));
    Scratch temp(temp_bytes, s);
    EMBER_CUDA_CHECK(cub::DeviceSegmentedSort::StableSortPairs(
        temp.get(), temp_bytes, keys_in.as<K>(), keys_out.as<K>(), pos_in.as<unsigned int>(),
        pos_out.as<unsigned int>(), total, rows, off, off + 1, cs));
  });
  const int64_t out_stride = out.strides()[axis];
  void* y = device_ptr_of_output(out);
  if (values) {
    dispatch_size(src.itemsize(), [&](auto tag) {
      using U = decltype(tag);
      write_rows<U, true><<<strided_grid(total), kBlock, 0, cs>>>(
          pos_out.as<unsigned int>(), static_cast<const U*>(input_ptr(x, s)), rows, n, od,
          out_stride, static_cast<U*>(y), nullptr);
    });
  } else {
    write_rows<uint32_t, false><<<strided_grid(total), kBlock, 0, cs>>>(
        pos_out.as<unsigned int>(), nullptr, rows, n, od, out_stride, nullptr,
        static_cast<unsigned int*>(y));
  }
  check_launch("sort");
}

// Insertion index of each value in its row of the sorted sequence (NaNs last, as sort).
template <typename T>
__global__ void search_sorted(const T* __restrict__ seq, long long n, long long rows,
                              const T* __restrict__ vals, long long n_vals, long long per_row,
                              bool right, unsigned int* __restrict__ y) {
  using R = compute_t<T>;
  auto less = [](R a, R b) {
    if constexpr (cstd::is_floating_point_v<R>) return !(a != a) && (b != b || a < b);
    else return a < b;
  };
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n_vals;
       i += (long long)gridDim.x * blockDim.x) {
    const T* row = seq + (rows <= 1 ? 0 : (i / per_row) * n);
    const R x = load(vals[i]);
    long long lo = 0, hi = n;
    while (lo < hi) {
      const long long mid = lo + (hi - lo) / 2;
      const R m = load(row[mid]);
      const bool go_right = right ? !less(x, m) : less(m, x);
      if (go_right) lo = mid + 1;
      else hi = mid;
    }
    y[i] = unsigned(lo);
  }
}

}  // namespace

}  // namespace ember::cuda

namespace ember {

using namespace ember::cuda;

void Sort::eval_gpu(const std::vector<array>& inputs, array& out) {
  sort_rows(inputs[0], out, axis_, true);
}

void ArgSort::eval_gpu(const std::vector<array>& inputs, array& out) {
  sort_rows(inputs[0], out, axis_, false);
}

void ArgPartition::eval_gpu(const std::vector<array>& inputs, array& out) {
  sort_rows(inputs[0], out, axis_, false);
}

void SearchSorted::eval_gpu(const std::vector<array>& inputs, array& out) {
  const Stream s = out.stream();
  unsigned int* y = out_ptr<unsigned int>(out);
  if (is_complex(inputs[0].dtype())) throw type_error("[searchsorted] complex64 is not ordered.");
  const array seq = inputs[0].flags().row_contiguous ? inputs[0] : contiguous_copy(inputs[0], s);
  const array vals = inputs[1].flags().row_contiguous ? inputs[1] : contiguous_copy(inputs[1], s);
  const int64_t n = seq.shape(-1);
  const int64_t rows = n == 0 ? 0 : seq.size() / n;
  const int64_t per_row = rows <= 1 ? vals.size() : vals.size() / rows;
  if (vals.size() == 0) return;
  cudaStream_t cs = stream_of(s);
  dispatch(seq.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!is_complex_v<T>) {
      search_sorted<T><<<strided_grid(vals.size()), kBlock, 0, cs>>>(
          in<T>(seq, s), n, rows, in<T>(vals, s), vals.size(), per_row, right_, y);
    }
  });
  check_launch("searchsorted");
}

}  // namespace ember
