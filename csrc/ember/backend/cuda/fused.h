// Generated kernels for fused chains (fused.cpp): the source of a chain's kernel, and its
// launch through an NVRTC-compiled, cached cubin.
#pragma once

#include <string>
#include <vector>

#include "ember/backend/cuda/cuda.h"
#include "ember/transforms/compile.h"

namespace ember::cuda {

constexpr int kMaxFusedInputs = 24;

/// The kernel's single argument; the generated source declares the same struct.
struct FusedParams {
  const void* in[kMaxFusedInputs];
  void* out;
  long long n;    // elements of the output (elementwise) or rows (with a trailing sum)
  long long row;  // elements per row of the trailing sum
  int ndim;       // shape and strides of the strided inputs, over the chain's shape
  long long shape[8];
  long long strides[kMaxFusedInputs][8];
  long long seg_len;  // with a trailing sum: elements of a row each block sums
  void* part;         // with more than one block per row: their partial sums (double)
};

/// How an input is read: dense in the output's order, one repeated value, or through strides.
enum class InputKind { dense, scalar, strided };

/// The CUDA source of g's kernel, or "" when the generator does not handle one of its ops or
/// dtypes.
std::string fused_source(const detail::FusedGraph& g, const std::vector<InputKind>& kinds,
                         Dtype out_dtype);
/// True when NVRTC could be loaded (and EMBER_DISABLE_JIT is unset).
bool fused_available();
/// Compiles (once per source and device) and launches; false if the source did not compile.
/// With a trailing sum, params.n rows of params.row elements: few long rows are split over
/// several blocks each, whose partial sums a second kernel adds in a fixed order (the result
/// does not depend on timing).
/// `aligned`: every dense input and the output start at a multiple of four elements' size
/// (at most 16 bytes), so that an elementwise chain may take four elements per access.
bool launch_fused(const std::string& src, const FusedParams& params, bool reduce, bool aligned,
                  const Stream& s);

}  // namespace ember::cuda
