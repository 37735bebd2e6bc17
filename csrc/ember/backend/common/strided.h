// Iteration over strided operands. Every elementwise kernel runs through
// for_each_strided: it collapses dimensions that are contiguous across all
// operands, then calls an inner loop on runs of the last dimension with that
// dimension's strides, so a contiguous input reaches the compiler as a plain
// vectorizable loop.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "ember/shape.h"

namespace ember::detail {

/// Shape and per-operand strides after merging dimensions that can be walked
/// as one. Dimensions of size 1 are dropped. Always at least one dimension.
template <int N>
struct CollapsedLayout {
  Shape shape;
  std::array<Strides, N> strides;
};

template <int N>
CollapsedLayout<N> collapse(const Shape& shape, const std::array<const Strides*, N>& strides) {
  CollapsedLayout<N> out;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !out.shape.empty();
    if (merge) {
      for (int k = 0; k < N; ++k) {
        if (out.strides[k].back() != (*strides[k])[d] * shape[d]) {
          merge = false;
          break;
        }
      }
    }
    if (merge) {
      out.shape.back() *= shape[d];
      for (int k = 0; k < N; ++k) out.strides[k].back() = (*strides[k])[d];
    } else {
      out.shape.push_back(shape[d]);
      for (int k = 0; k < N; ++k) out.strides[k].push_back((*strides[k])[d]);
    }
  }
  if (out.shape.empty()) {
    out.shape.push_back(1);
    for (int k = 0; k < N; ++k) out.strides[k].push_back(0);
  }
  return out;
}

/// Calls inner(offsets, n, inner_strides) for every run of the last collapsed
/// dimension between logical positions [begin, end) (in units of rows of the
/// last dimension). offsets are element offsets per operand.
template <int N, typename Inner>
void for_each_row(const CollapsedLayout<N>& L, int64_t row_begin, int64_t row_end, Inner&& inner) {
  const int nd = int(L.shape.size());
  const int64_t n = L.shape[nd - 1];
  std::array<int64_t, N> inner_strides;
  for (int k = 0; k < N; ++k) inner_strides[k] = L.strides[k][nd - 1];
  // Multi-index over the outer dims, started at row_begin.
  std::vector<int64_t> idx(std::max(nd - 1, 0), 0);
  std::array<int64_t, N> off{};
  int64_t r = row_begin;
  for (int d = nd - 2; d >= 0; --d) {
    idx[d] = r % L.shape[d];
    r /= L.shape[d];
    for (int k = 0; k < N; ++k) off[k] += idx[d] * L.strides[k][d];
  }
  for (int64_t row = row_begin; row < row_end; ++row) {
    inner(off, n, inner_strides);
    // Advance the outer multi-index by one.
    for (int d = nd - 2; d >= 0; --d) {
      for (int k = 0; k < N; ++k) off[k] += L.strides[k][d];
      if (++idx[d] < L.shape[d]) break;
      for (int k = 0; k < N; ++k) off[k] -= L.strides[k][d] * L.shape[d];
      idx[d] = 0;
    }
  }
}

template <int N>
int64_t num_rows(const CollapsedLayout<N>& L) {
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < L.shape.size(); ++d) rows *= L.shape[d];
  return rows;
}

}  // namespace ember::detail
