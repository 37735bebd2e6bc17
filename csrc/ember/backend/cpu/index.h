// Helpers shared by the CPU kernels of the index family (index.cpp, sort.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

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

}  // namespace ember::cpu
