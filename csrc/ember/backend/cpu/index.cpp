// CPU kernels of Gather and Scatter. Both first turn the index arrays into one
// element offset per index position, checking every index against its axis
// before any element moves, so a bad index never reads or writes out of bounds.
#include "ember/backend/cpu/index.h"

#include <cstring>
#include <type_traits>

#include "ember/backend/common/strided.h"
#include "ember/backend/cpu/copy.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/errors.h"
#include "ember/primitives/index.h"

namespace ember {

namespace {

// offsets[p] += wrap(idx[p]) * stride for every index position p (row-major
// over idx's shape), where wrap maps [-dim, dim) onto [0, dim). Broadcast
// indices (stride 0) are walked in place, never materialized.
void add_index_offsets(const std::string& op, const array& idx, int axis, int64_t dim,
                       int64_t stride, std::vector<int64_t>& offsets) {
  if (offsets.empty()) return;
  auto L = detail::collapse<1>(idx.shape(), {&idx.strides()});
  dispatch_dtype(idx.dtype(), [&](auto v) {
    using T = decltype(v);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      const T* d = idx.data<T>();
      int64_t* o = offsets.data();
      auto bad = [&](T raw) {
        using Print = std::conditional_t<std::is_unsigned_v<T>, uint64_t, int64_t>;
        return std::out_of_range(msg("[", op, "] Index ", Print(raw), " is out of bounds for axis ",
                                     axis, " with size ", dim, "."));
      };
      detail::for_each_row(L, 0, detail::num_rows(L), [&](const auto& off, int64_t n,
                                                          const auto& st) {
        const T* row = d + off[0];
        const int64_t step = st[0];
        for (int64_t i = 0; i < n; ++i) {
          T raw = row[i * step];
          int64_t j = int64_t(raw);
          if constexpr (std::is_unsigned_v<T>) {
            if (uint64_t(raw) >= uint64_t(dim)) throw bad(raw);
          } else {
            if (j < 0) j += dim;
            if (j < 0 || j >= dim) throw bad(raw);
          }
          o[i] += j * stride;
        }
        o += n;
      });
    } else {
      throw type_error(msg("[", op, "] Indices must be integers, got ", dtype_name(idx.dtype()), "."));
    }
  });
}

// Source (or destination) offset of each index position of a gather / scatter
// over the leading idx.size() axes of a view with `shape` / `strides`.
std::vector<int64_t> index_offsets(const std::string& op, const std::vector<int>& labels,
                                   const std::vector<array>& idx, const Shape& shape,
                                   const Strides& strides) {
  std::vector<int64_t> offsets(size_t(idx[0].size()), 0);
  for (size_t j = 0; j < idx.size(); ++j) {
    int label = j < labels.size() ? labels[j] : int(j);
    add_index_offsets(op, idx[j], label, shape[j], strides[j], offsets);
  }
  return offsets;
}

// Calls f with an unsigned type of the element size: gathers move bits only.
template <typename F>
void dispatch_size(size_t size, F&& f) {
  switch (size) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    default: return f(uint64_t{});
  }
}

template <typename T>
T add_values(T x, T y) {
  if constexpr (std::is_same_v<T, bool>) {
    return x || y;
  } else if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    return T(float(x) + float(y));
  } else {
    return T(x + y);
  }
}

template <typename T>
T mul_values(T x, T y) {
  if constexpr (std::is_same_v<T, bool>) {
    return x && y;
  } else if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    return T(float(x) * float(y));
  } else {
    return T(x * y);
  }
}

// numpy's maximum.at / minimum.at: a NaN on either side wins.
template <typename T>
T extremum(T x, T y, bool is_max) {
  if constexpr (std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>) {
    float a = float(x), b = float(y);
    if (a != a) return x;
    if (b != b) return y;
    return (is_max ? b > a : b < a) ? y : x;
  } else {
    if constexpr (std::is_floating_point_v<T>) {
      if (x != x) return x;
      if (y != y) return y;
    }
    return (is_max ? y > x : y < x) ? y : x;
  }
}

}  // namespace

void Gather::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  const array& a = inputs[0];
  std::vector<array> idx(inputs.begin() + 1, inputs.end());
  const int k = int(idx.size());
  // Checked even when the slices are empty, as numpy does.
  std::vector<int64_t> src = index_offsets(op_, axes_, idx, a.shape(), a.strides());
  if (out.size() == 0) return;
  // Each index position copies one slice a[i..., :, ...] of the remaining axes.
  Shape rest(a.shape().begin() + k, a.shape().end());
  Strides rest_strides(a.strides().begin() + k, a.strides().end());
  const int64_t slice = shape_size(rest);
  const int64_t positions = int64_t(src.size());
  auto L = detail::collapse<1>(rest, {&rest_strides});
  const bool dense = L.shape.size() == 1 && (L.strides[0][0] == 1 || slice == 1);
  std::vector<int64_t> inner;
  if (!dense) inner = cpu::offset_table(rest, rest_strides);
  dispatch_size(a.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    const U* x = a.data<U>();
    U* y = out.data<U>();
    cpu::parallel_for(positions, std::max<int64_t>(1, (1 << 15) / slice), [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        U* dst = y + p * slice;
        const U* s = x + src[p];
        if (slice == 1) {
          *dst = *s;
        } else if (dense) {
          std::memcpy(dst, s, size_t(slice) * sizeof(U));
        } else {
          for (int64_t i = 0; i < slice; ++i) dst[i] = s[inner[i]];
        }
      }
    });
  });
}

void Scatter::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  cpu::copy_cast(inputs[0], out);
  const array& u = inputs[1];
  std::vector<array> idx(inputs.begin() + 2, inputs.end());
  const int k = int(idx.size());
  const int m = idx[0].ndim();
  std::vector<int64_t> dst = index_offsets(op_, axes_, idx, out.shape(), out.strides());
  if (u.size() == 0) return;
  // The updates are idx.shape + rest, possibly broadcast (stride 0): walk the
  // index part and the slice part through their own offset tables.
  Shape rest(out.shape().begin() + k, out.shape().end());
  const int64_t slice = shape_size(rest);
  std::vector<int64_t> u_outer = cpu::offset_table(
      idx[0].shape(), Strides(u.strides().begin(), u.strides().begin() + m));
  std::vector<int64_t> u_inner =
      cpu::offset_table(rest, Strides(u.strides().begin() + m, u.strides().end()));
  const int64_t positions = int64_t(dst.size());
  // Positions stay in order (the last write of a repeated index wins, and
  // float adds happen in a fixed order); large slices split across threads.
  auto run = [&](auto write) {
    cpu::parallel_for(slice, 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t p = 0; p < positions; ++p) {
        for (int64_t i = b; i < e; ++i) write(dst[p] + i, u_outer[p] + u_inner[i]);
      }
    });
  };
  if (mode_ == ScatterMode::write) {
    dispatch_size(out.itemsize(), [&](auto tag) {
      using U = decltype(tag);
      U* y = out.data<U>();
      const U* x = u.data<U>();
      run([&](int64_t o, int64_t s) { y[o] = x[s]; });
    });
    return;
  }
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* y = out.data<T>();
    const T* x = u.data<T>();
    switch (mode_) {
      case ScatterMode::add: run([&](int64_t o, int64_t s) { y[o] = add_values(y[o], x[s]); }); break;
      case ScatterMode::prod: run([&](int64_t o, int64_t s) { y[o] = mul_values(y[o], x[s]); }); break;
      case ScatterMode::max:
      case ScatterMode::min:
        if constexpr (std::is_same_v<T, complex64_t>) {
          throw type_error(msg("[", op_, "] maximum / minimum are not defined for complex64."));
        } else {
          const bool is_max = mode_ == ScatterMode::max;
          run([&](int64_t o, int64_t s) { y[o] = extremum(y[o], x[s], is_max); });
        }
        break;
      default: break;
    }
  });
}

}  // namespace ember

namespace ember {

// Binary search of each value in its row of the sorted sequence; rows split
// across threads. The order is sort's: NaNs after every number.
void SearchSorted::eval_cpu(const std::vector<array>& inputs, array& out) {
  array seq = cpu::ensure_row_contiguous(inputs[0]);
  array vals = cpu::ensure_row_contiguous(inputs[1]);
  out.allocate_row_contiguous();
  const int64_t n = seq.shape(-1);
  const int64_t rows = n == 0 ? 0 : seq.size() / n;
  const int64_t per_row = rows <= 1 ? vals.size() : vals.size() / rows;
  uint32_t* y = out.data<uint32_t>();
  if (vals.size() == 0) return;
  dispatch_dtype(seq.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, complex64_t>) {
      throw type_error("[searchsorted] complex64 is not ordered.");
    } else {
      using R = std::conditional_t<std::is_same_v<T, float16_t> || std::is_same_v<T, bfloat16_t>,
                                   float, T>;
      auto less = [](R a, R b) {
        if constexpr (std::is_floating_point_v<R>) return !(a != a) && (b != b || a < b);
        else return a < b;
      };
      const T* s = seq.data<T>();
      const T* v = vals.data<T>();
      const bool right = right_;
      cpu::parallel_for(vals.size(), 1 << 12, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const T* row = s + (rows <= 1 ? 0 : (i / per_row) * n);
          const R x = R(v[i]);
          // first position whose element is >= x (left) or > x (right)
          int64_t lo = 0, hi = n;
          while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            const R m = R(row[mid]);
            bool go_right = right ? !less(x, m) : less(m, x);
            if (go_right) lo = mid + 1;
            else hi = mid;
          }
          y[i] = uint32_t(lo);
        }
      });
    }
  });
}

}  // namespace ember
