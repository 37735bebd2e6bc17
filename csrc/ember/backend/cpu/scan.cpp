// CPU kernel of Scan (cumsum, cumprod, cummax, cummin). When the scanned axis
// is not the innermost one, whole rows are stepped at once (a vectorizable
// loop over a tile of running accumulators); otherwise each line is scanned
// serially. float32 and half sums run in double, like the reductions.
#include <algorithm>

#include "ember/backend/common/strided.h"
#include "ember/backend/cpu/elementwise.h"
#include "ember/backend/cpu/reduce_ops.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/errors.h"
#include "ember/primitives/reduce.h"

namespace ember {

namespace {

using namespace cpu::reduce_ops;

constexpr int64_t kTile = 512;

template <typename Op, typename T, typename O>
void scan_typed(const array& in, array& out, int axis, bool reverse, bool inclusive) {
  using W = typename Op::W;
  if (out.size() == 0) return;
  const int64_t n = in.shape(axis), sx = in.strides()[axis], sy = out.strides()[axis];
  Shape shape;
  Strides sin, sout;
  for (int i = 0; i < in.ndim(); ++i) {
    if (i == axis) continue;
    shape.push_back(in.shape(i));
    sin.push_back(in.strides()[i]);
    sout.push_back(out.strides()[i]);
  }
  auto L = detail::collapse<2>(shape, {&sin, &sout});
  const T* x = in.data<T>();
  O* y = out.data<O>();
  // One element as an accumulator value (halves to float, float sums to double).
  auto elem = [](T v) { return W(Op::step(Op::init(), v)); };
  const int64_t rows = detail::num_rows(L), m = L.shape.back();

  if (m > 1 && L.strides[0].back() == 1 && L.strides[1].back() == 1) {
    // Rows: out[i, :] = out[i - 1, :] (+) x[i, :] over tiles of kTile columns.
    const int64_t tiles = (m + kTile - 1) / kTile;
    const int64_t grain = std::max<int64_t>(1, cpu::kParallelGrain / (n * std::min(m, kTile)));
    cpu::parallel_for(rows * tiles, grain, [&](int64_t b, int64_t e) {
      W acc[kTile];
      for (int64_t u = b; u < e; ++u) {
        const int64_t row = u / tiles, j0 = (u % tiles) * kTile, len = std::min(kTile, m - j0);
        detail::for_each_row(L, row, row + 1, [&](const auto& off, int64_t, const auto&) {
          std::fill(acc, acc + len, W(Op::init()));
          for (int64_t k = 0; k < n; ++k) {
            const int64_t i = reverse ? n - 1 - k : k;
            const T* px = x + off[0] + i * sx + j0;
            O* py = y + off[1] + i * sy + j0;
            if (inclusive) {
              for (int64_t j = 0; j < len; ++j) {
                acc[j] = Op::combine(acc[j], elem(px[j]));
                py[j] = Op::out(acc[j]);
              }
            } else {
              for (int64_t j = 0; j < len; ++j) {
                py[j] = Op::out(acc[j]);
                acc[j] = Op::combine(acc[j], elem(px[j]));
              }
            }
          }
        });
      }
    });
    return;
  }

  // Lines: a serial scan along the axis for every kept position.
  const int64_t grain = std::max<int64_t>(1, cpu::kParallelGrain / std::max<int64_t>(n * m, 1));
  cpu::parallel_for(rows, grain, [&](int64_t b, int64_t e) {
    detail::for_each_row(L, b, e, [&](const auto& off, int64_t len, const auto& st) {
      for (int64_t j = 0; j < len; ++j) {
        const T* px = x + off[0] + j * st[0];
        O* py = y + off[1] + j * st[1];
        // Walk in scan order with signed steps so both directions share the loop.
        const int64_t first = reverse ? n - 1 : 0, dir = reverse ? -1 : 1;
        const T* p = px + first * sx;
        O* q = py + first * sy;
        const int64_t dx = dir * sx, dy = dir * sy;
        W acc = W(Op::init());
        if (inclusive) {
          for (int64_t k = 0; k < n; ++k, p += dx, q += dy) {
            acc = Op::combine(acc, elem(*p));
            *q = Op::out(acc);
          }
        } else {
          for (int64_t k = 0; k < n; ++k, p += dx, q += dy) {
            *q = Op::out(acc);
            acc = Op::combine(acc, elem(*p));
          }
        }
      }
    });
  });
}

}  // namespace

void Scan::eval_cpu(const std::vector<array>& inputs, array& out) {
  out.allocate_row_contiguous();
  const array& in = inputs[0];
  dispatch_dtype(in.dtype(), [&](auto v) {
    using T = decltype(v);
    using S = SumOut<T>;
    switch (kind_) {
      case ScanKind::sum: scan_typed<Sum<T, S>, T, S>(in, out, axis_, reverse_, inclusive_); return;
      case ScanKind::prod: scan_typed<Prod<T, S>, T, S>(in, out, axis_, reverse_, inclusive_); return;
      default: break;
    }
    if constexpr (std::is_same_v<T, complex64_t>) {
      throw type_error(msg("[", name(), "] Not supported for complex64."));
    } else if (kind_ == ScanKind::max) {
      scan_typed<Max<T>, T, T>(in, out, axis_, reverse_, inclusive_);
    } else {
      scan_typed<Min<T>, T, T>(in, out, axis_, reverse_, inclusive_);
    }
  });
}

}  // namespace ember
