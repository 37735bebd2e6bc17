// Transform rules of the linalg family (Matmul), written with ops so they
// nest. The vjp sums a gradient back over the batch dims its operand was
// broadcast along, and folds the batch into one matmul when b is unbatched.
#include "ember/primitives/linalg.h"

#include <algorithm>

#include "ember/export/fields.h"
#include "ember/ops.h"

namespace ember {

namespace {

// Swaps the last two axes (a view; the kernel reads it with a trans flag).
array mT(const array& x) { return swapaxes(x, -1, -2); }

// Sums g (G..., r, c) back to `shape` (S..., r, c) where S broadcasts to G:
// over the leading dims S lacks and the dims where S has 1 and G does not.
array unbroadcast(const array& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  int lead = g.ndim() - int(shape.size());
  std::vector<int> axes;
  for (int i = 0; i < g.ndim(); ++i) {
    if (i < lead || (shape[i - lead] == 1 && g.shape(i) != 1)) axes.push_back(i);
  }
  array s = axes.empty() ? g : sum(g, axes, true);
  return reshape(s, shape);
}

// x (..., c) as a matrix (rows, c), with rows spelled out so c == 0 works.
array as_rows(const array& x) {
  int64_t c = x.shape(-1);
  int64_t rows = 1;
  for (int i = 0; i + 1 < x.ndim(); ++i) rows *= x.shape(i);
  return reshape(x, {rows, c});
}

}  // namespace

// d(a @ b) = da @ b + a @ db
array Matmul::jvp(const std::vector<array>& primals, const std::vector<array>& tangents,
                  const std::vector<int>& argnums, const array&) {
  array result;
  for (size_t i = 0; i < argnums.size(); ++i) {
    array term = argnums[i] == 0 ? matmul(tangents[i], primals[1])
                                 : matmul(primals[0], tangents[i]);
    result = result.valid() ? add(result, term) : term;
  }
  return result;
}

// da = ct @ b^T, db = a^T @ ct (each summed over the batch dims it was broadcast along)
std::vector<array> Matmul::vjp(const std::vector<array>& primals, const array& cotangent,
                               const std::vector<int>& argnums, const array&) {
  const array& a = primals[0];
  const array& b = primals[1];
  std::vector<array> grads;
  for (int arg : argnums) {
    if (arg == 0) {
      grads.push_back(unbroadcast(matmul(cotangent, mT(b)), a.shape()));
    } else if (b.ndim() == 2 && a.ndim() > 2) {
      // One b shared by every matrix of a (x @ W): the batch sum is the
      // contraction over all rows of a, so one gemm does it, without sum.
      grads.push_back(matmul(mT(as_rows(a)), as_rows(cotangent)));
    } else {
      grads.push_back(unbroadcast(matmul(mT(a), cotangent), b.shape()));
    }
  }
  return grads;
}

// Moves each batch axis to the front and pads the batched operands to a
// common batch rank, so matmul's batch broadcasting lines them up. An
// unbatched operand is left alone: broadcasting reads it with stride 0
// (an unbatched b makes the whole batch one gemm), never materialized.
std::pair<array, int> Matmul::vmap(const std::vector<array>& inputs,
                                   const std::vector<BatchAxis>& axes) {
  int rank[2];
  for (int i = 0; i < 2; ++i) rank[i] = inputs[i].ndim() - (axes[i] ? 1 : 0);
  int batch_rank = std::max(rank[0], rank[1]) - 2;
  array x[2];
  for (int i = 0; i < 2; ++i) {
    x[i] = inputs[i];
    if (!axes[i]) continue;
    x[i] = moveaxis(x[i], *axes[i], 0);
    std::vector<int> pad;
    for (int p = 0; p < batch_rank - (rank[i] - 2); ++p) pad.push_back(1 + p);
    if (!pad.empty()) x[i] = expand_dims(x[i], pad);
  }
  return {matmul(x[0], x[1]), 0};
}


// ---- export: Matmul has no parameters; its op rebuilds it ----
namespace {
const detail::RegisterLoaders kLoaders{
    {"Matmul", [](ExportFields::Reader&, const std::vector<array>& in,
                  const std::vector<ExportSpec>&) -> std::vector<array> {
       detail::expect_inputs(in, 2);
       return {matmul(in[0], in[1])};
     }},
};
}  // namespace

}  // namespace ember
