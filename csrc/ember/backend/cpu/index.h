// Helpers shared by the CPU kernels of the index family (index.cpp, sort.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "ember/array.h"
#include "ember/errors.h"
#include "ember/shape.h"

namespace ember::cpu {

/// Element offset (from the first element) of every position of a strided
/// view, in row-major order of `shape`.
inline std::vector<int64_t> offset_table(const Shape& shape, const Strides& strides) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  std::vector<int64_t> out(size_t(std::max<int64_t>(n, 0)));
  if (n <= 0) return out;
  const int nd = int(shape.size());
  std::vector<int64_t> idx(nd, 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = off;
    for (int d = nd - 1; d >= 0; --d) {
      off += strides[d];
      if (++idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/// The values of an integer index array (any strides) as positions in [0, n): negative ones
/// count from the end; anything else out of range is an IndexError naming `op`. For the
/// matrix-level gathers (gather_mm, gather_qmm), whose indices pick matrices of a batch.
inline std::vector<int64_t> matrix_indices(const char* op, const array& idx, int64_t n) {
  std::vector<int64_t> out(size_t(idx.size()));
  auto offs = offset_table(idx.shape(), idx.strides());
  dispatch_dtype(idx.dtype(), [&](auto v) {
    using I = decltype(v);
    if constexpr (std::is_integral_v<I> && !std::is_same_v<I, bool>) {
      const I* p = idx.data<I>();
      for (size_t i = 0; i < out.size(); ++i) {
        const I raw = p[offs[i]];
        bool ok;
        int64_t j;
        if constexpr (std::is_unsigned_v<I>) {
          ok = uint64_t(raw) < uint64_t(n);
          j = int64_t(raw);
        } else {
          j = int64_t(raw) < 0 ? int64_t(raw) + n : int64_t(raw);
          ok = j >= 0 && j < n;
        }
        if (!ok) {
          using Print = std::conditional_t<std::is_unsigned_v<I>, uint64_t, int64_t>;
          throw std::out_of_range(msg("[", op, "] Index ", Print(raw),
                                      " is out of bounds for a batch of ", n, " matrices."));
        }
        out[i] = j;
      }
    } else {
      throw type_error(msg("[", op, "] Indices must be integers, got ", dtype_name(idx.dtype()), "."));
    }
  });
  return out;
}

}  // namespace ember::cpu
