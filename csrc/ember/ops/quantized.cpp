// Quantization ops: argument checks (the format, the packed shapes, dtypes, indices), then
// the nodes. Index values are only seen at eval, where the kernels check them.
#include "ember/ops/quantized.h"

#include <numeric>

#include "ember/errors.h"
#include "ember/ops.h"
#include "ember/ops/helpers.h"
#include "ember/primitives/quantized.h"

namespace ember {

const char* quant_mode_name(QuantMode mode) {
  switch (mode) {
    case QuantMode::affine: return "affine";
    case QuantMode::mxfp4: return "mxfp4";
    case QuantMode::mxfp8: return "mxfp8";
    case QuantMode::nvfp4: return "nvfp4";
  }
  return "?";
}

namespace {

QuantSpec quant_spec(const char* op, const std::string& mode, std::optional<int> group_size,
                     std::optional<int> bits) {
  QuantSpec s;
  if (mode == "affine") {
    s = {QuantMode::affine, 64, 4};
  } else if (mode == "mxfp4") {
    s = {QuantMode::mxfp4, 32, 4};
  } else if (mode == "mxfp8") {
    s = {QuantMode::mxfp8, 32, 8};
  } else if (mode == "nvfp4") {
    s = {QuantMode::nvfp4, 16, 4};
  } else {
    throw std::invalid_argument(msg("[", op, "] Invalid quantization mode '", mode,
                                    "' (the modes are 'affine', 'mxfp4', 'mxfp8' and 'nvfp4')."));
  }
  if (s.affine()) {
    int g = group_size.value_or(s.group_size), b = bits.value_or(s.bits);
    if (g != 32 && g != 64 && g != 128) {
      throw std::invalid_argument(msg("[", op, "] The group size ", g,
                                      " is not supported; affine quantization supports 32, 64 "
                                      "and 128."));
    }
    if (b < 1 || b > 8 || b == 7) {
      throw std::invalid_argument(msg("[", op, "] The number of bits ", b,
                                      " is not supported; affine quantization supports 1, 2, 3, "
                                      "4, 5, 6 and 8."));
    }
    s.group_size = g;
    s.bits = b;
    return s;
  }
  if (group_size && *group_size != s.group_size) {
    throw std::invalid_argument(msg("[", op, "] ", mode, " quantization requires group size ",
                                    s.group_size, " but got ", *group_size, "."));
  }
  if (bits && *bits != s.bits) {
    throw std::invalid_argument(msg("[", op, "] ", mode, " quantization requires bits to be ",
                                    s.bits, " but got ", *bits, "."));
  }
  return s;
}

// The float32 scalar a global scale becomes (nvfp4 only).
std::optional<array> check_global_scale(const char* op, const char* what, const QuantSpec& s,
                                        const std::optional<array>& g) {
  if (!g) return std::nullopt;
  if (s.mode != QuantMode::nvfp4) {
    throw std::invalid_argument(msg("[", op, "] ", what, " is only supported for 'nvfp4' "
                                    "quantization, not '", quant_mode_name(s.mode), "'."));
  }
  if (!is_floating(g->dtype())) {
    throw type_error(msg("[", op, "] ", what, " must be a float array, got ",
                         dtype_name(g->dtype()), "."));
  }
  if (g->size() != 1) {
    throw std::invalid_argument(msg("[", op, "] ", what, " must hold one value, got shape ",
                                    g->shape(), "."));
  }
  return reshape(astype(*g, Dtype::float32), {});
}

// Checks a packed matrix (w, scales, biases) against the format; returns the number of
// elements each row of w packs.
int64_t check_packed(const char* op, const array& w, const array& scales,
                     const std::optional<array>& biases, const QuantSpec& s) {
  if (w.dtype() != Dtype::uint32) {
    throw type_error(msg("[", op, "] The packed matrix must be uint32, got ",
                         dtype_name(w.dtype()), "."));
  }
  if (w.ndim() < 2) {
    throw std::invalid_argument(msg("[", op, "] The packed matrix must have at least 2 "
                                    "dimensions, got shape ", w.shape(), "."));
  }
  if (s.affine()) {
    if (!biases) {
      throw std::invalid_argument(msg("[", op, "] Biases must be given for affine quantization."));
    }
    if (!is_floating(scales.dtype()) || !is_floating(biases->dtype())) {
      throw type_error(msg("[", op, "] Scales and biases must be float arrays, got ",
                           dtype_name(scales.dtype()), " and ", dtype_name(biases->dtype()), "."));
    }
    if (biases->shape() != scales.shape()) {
      throw std::invalid_argument(msg("[", op, "] Scales (shape ", scales.shape(),
                                      ") and biases (shape ", biases->shape(),
                                      ") must have the same shape."));
    }
  } else {
    if (biases) {
      throw std::invalid_argument(msg("[", op, "] Biases must be None for '",
                                      quant_mode_name(s.mode), "' quantization."));
    }
    if (scales.dtype() != Dtype::uint8) {
      throw type_error(msg("[", op, "] '", quant_mode_name(s.mode),
                           "' scales must be uint8, got ", dtype_name(scales.dtype()), "."));
    }
  }
  Shape wl(w.shape().begin(), w.shape().end() - 1), sl;
  if (scales.ndim() >= 1) sl.assign(scales.shape().begin(), scales.shape().end() - 1);
  const int64_t cols = w.shape(-1) * 32 / s.bits;
  if (scales.ndim() != w.ndim() || wl != sl || scales.shape(-1) * s.group_size != cols) {
    throw std::invalid_argument(msg("[", op, "] The scales (shape ", scales.shape(),
                                    ") do not match the packed matrix (shape ", w.shape(),
                                    ") with group_size=", s.group_size, " and bits=", s.bits,
                                    ": expected shape ", wl, " + (",
                                    cols / s.group_size, ",)."));
  }
  return cols;
}

// (K, N) of the product with a packed w whose rows hold `cols` elements.
std::pair<int64_t, int64_t> packed_dims(const array& w, int64_t cols, bool transpose) {
  return transpose ? std::pair{cols, w.shape(-2)} : std::pair{w.shape(-2), cols};
}

Shape batch_of(const array& a, int matrix_dims = 2) {
  return Shape(a.shape().begin(), a.shape().end() - matrix_dims);
}

// Broadcasts the batch dims of every array (each keeps its last two dims) to `batch`.
array to_batch(const array& a, const Shape& batch) {
  Shape s = batch;
  s.push_back(a.shape(-2));
  s.push_back(a.shape(-1));
  return a.shape() == s ? a : broadcast_to(a, s);
}

// The flat batch indices of every matrix of a: arange reshaped to its batch dims.
array all_matrices(const array& a) {
  Shape batch = batch_of(a);
  int64_t n = 1;
  for (auto d : batch) n *= d;
  return reshape(arange(0, double(n), 1, Dtype::uint32), batch);
}

void check_indices(const char* op, const std::optional<array>& idx) {
  if (idx && !is_integral(idx->dtype())) {
    throw type_error(msg("[", op, "] Indices must be integers, got ", dtype_name(idx->dtype()), "."));
  }
}

Dtype affine_dtype(const char* op, const array& x, const array& scales, const array& biases) {
  Dtype t = promote_types(x.dtype(), promote_types(scales.dtype(), biases.dtype()));
  if (!is_floating(t)) {
    throw type_error(msg("[", op, "] Needs float inputs, got x of dtype ", dtype_name(x.dtype()), "."));
  }
  return t;
}

void require_float(const char* op, const char* what, const array& a) {
  if (!is_floating(a.dtype())) {
    throw type_error(msg("[", op, "] ", what, " must be a float array, got ",
                         dtype_name(a.dtype()), "."));
  }
}

// Checks x's inner dimension against the packed matrix's K; returns the product's dtype:
// x promoted with the scales and biases (affine), x's own float dtype otherwise.
Dtype product_dtype(const char* op, const QuantSpec& s, const array& x, int64_t K, const array& w,
                    const array& scales, const std::optional<array>& biases, bool transpose) {
  if (x.shape(-1) != K) {
    throw std::invalid_argument(msg("[", op, "] The last dimension of x (shape ", x.shape(),
                                    ") must match the ", K, " inner elements of the packed "
                                    "matrix (shape ", w.shape(), ", group_size=", s.group_size,
                                    ", bits=", s.bits, ", transpose=", transpose ? "True" : "False",
                                    ")."));
  }
  if (s.affine()) return affine_dtype(op, x, scales, *biases);
  require_float(op, "x", x);
  return x.dtype();
}

}  // namespace

std::vector<array> quantize(const array& w, std::optional<int> group_size,
                            std::optional<int> bits, const std::string& mode,
                            const std::optional<array>& global_scale) {
  QuantSpec s = quant_spec("quantize", mode, group_size, bits);
  auto gs = check_global_scale("quantize", "global_scale", s, global_scale);
  require_float("quantize", "The matrix to quantize", w);
  if (w.ndim() < 2) {
    throw std::invalid_argument(msg("[quantize] The matrix to quantize must have at least 2 "
                                    "dimensions, got shape ", w.shape(), "."));
  }
  if (w.shape(-1) % s.group_size != 0) {
    throw std::invalid_argument(msg("[quantize] The last dimension of the matrix (shape ",
                                    w.shape(), ") must be a multiple of the group size ",
                                    s.group_size, "."));
  }
  Shape packed = w.shape(), groups = w.shape();
  packed.back() = w.shape(-1) * s.bits / 32;
  groups.back() = w.shape(-1) / s.group_size;
  std::vector<Shape> shapes{packed, groups};
  std::vector<Dtype> dtypes{Dtype::uint32, s.affine() ? w.dtype() : Dtype::uint8};
  if (s.affine()) {
    shapes.push_back(groups);
    dtypes.push_back(w.dtype());
  }
  std::vector<array> inputs{w};
  if (gs) inputs.push_back(*gs);
  return make_nodes<Quantize>(std::move(shapes), std::move(dtypes), std::move(inputs), s);
}

array dequantize(const array& w, const array& scales, const std::optional<array>& biases,
                 std::optional<int> group_size, std::optional<int> bits, const std::string& mode,
                 const std::optional<array>& global_scale, std::optional<Dtype> dtype) {
  QuantSpec s = quant_spec("dequantize", mode, group_size, bits);
  auto gs = check_global_scale("dequantize", "global_scale", s, global_scale);
  if (dtype && !is_floating(*dtype)) {
    throw type_error(msg("[dequantize] dtype must be a float dtype, got ", dtype_name(*dtype), "."));
  }
  int64_t cols = check_packed("dequantize", w, scales, biases, s);
  Shape out_shape = w.shape();
  out_shape.back() = cols;
  shape_size(out_shape, "dequantize");
  if (s.affine()) {
    // Computed in the scales' and biases' common dtype (as MLX), then cast.
    Dtype t = promote_types(scales.dtype(), biases->dtype());
    array out = make_node<Dequantize>(out_shape, t, {w, astype(scales, t), astype(*biases, t)}, s,
                                      false, t);
    return dtype ? astype(out, *dtype) : out;
  }
  std::vector<array> inputs{w, scales};
  if (gs) inputs.push_back(*gs);
  Dtype t = dtype.value_or(Dtype::bfloat16);
  return make_node<Dequantize>(out_shape, t, std::move(inputs), s, gs.has_value(), t);
}

array quantized_matmul(const array& x, const array& w, const array& scales,
                       const std::optional<array>& biases, bool transpose,
                       std::optional<int> group_size, std::optional<int> bits,
                       const std::string& mode) {
  const char* op = "quantized_matmul";
  QuantSpec s = quant_spec(op, mode, group_size, bits);
  int64_t cols = check_packed(op, w, scales, biases, s);
  auto [K, N] = packed_dims(w, cols, transpose);
  if (x.ndim() == 0) {
    throw std::invalid_argument(msg("[", op, "] x must have at least one dimension."));
  }
  Dtype t = product_dtype(op, s, x, K, w, scales, biases, transpose);
  const bool vec = x.ndim() == 1;
  array x2 = vec ? reshape(x, {1, K}) : x;
  Shape batch = broadcast_shapes(op, batch_of(x2), batch_of(w));
  std::vector<array> inputs{to_batch(astype(x2, t), batch), to_batch(w, batch)};
  if (s.affine()) {
    inputs.push_back(to_batch(astype(scales, t), batch));
    inputs.push_back(to_batch(astype(*biases, t), batch));
  } else {
    inputs.push_back(to_batch(scales, batch));
  }
  Shape out_shape = batch;
  out_shape.push_back(x2.shape(-2));
  out_shape.push_back(N);
  shape_size(out_shape, op);
  array out = make_node<QuantizedMatmul>(out_shape, t, std::move(inputs), s, transpose);
  if (!vec) return out;
  Shape final_shape = batch;
  final_shape.push_back(N);
  return reshape(out, final_shape);
}

namespace {

// The index pair of a gathered matmul: defaults, dtype checks, broadcasting.
std::pair<array, array> gather_indices(const char* op, const array& x, const array& w,
                                       const std::optional<array>& lhs,
                                       const std::optional<array>& rhs) {
  check_indices(op, lhs);
  check_indices(op, rhs);
  array l = lhs ? *lhs : all_matrices(x);
  array r = rhs ? *rhs : all_matrices(w);
  auto b = broadcast_arrays({l, r}, op);
  return {b[0], b[1]};
}

}  // namespace

array gather_qmm(const array& x, const array& w, const array& scales,
                 const std::optional<array>& biases, const std::optional<array>& lhs_indices,
                 const std::optional<array>& rhs_indices, bool transpose,
                 std::optional<int> group_size, std::optional<int> bits, const std::string& mode,
                 const std::optional<array>& global_scale, bool sorted_indices) {
  const char* op = "gather_qmm";
  (void)sorted_indices;  // the kernel finds runs of equal indices by itself
  QuantSpec s = quant_spec(op, mode, group_size, bits);
  auto gs = check_global_scale(op, "global_scale", s, global_scale);
  if (!lhs_indices && !rhs_indices) {
    array out = quantized_matmul(x, w, scales, biases, transpose, group_size, bits, mode);
    return gs ? multiply(out, astype(divide(*gs, detail::scalar(448.0 * 6.0, Dtype::float32)),
                                     out.dtype()))
              : out;
  }
  int64_t cols = check_packed(op, w, scales, biases, s);
  auto [K, N] = packed_dims(w, cols, transpose);
  if (x.ndim() < 2) {
    throw std::invalid_argument(msg("[", op, "] x must have at least 2 dimensions, got shape ",
                                    x.shape(), "."));
  }
  Dtype t = product_dtype(op, s, x, K, w, scales, biases, transpose);
  auto [l, r] = gather_indices(op, x, w, lhs_indices, rhs_indices);
  Shape out_shape = l.shape();
  out_shape.push_back(x.shape(-2));
  out_shape.push_back(N);
  shape_size(out_shape, op);
  std::vector<array> inputs{astype(x, t), w};
  if (s.affine()) {
    inputs.push_back(astype(scales, t));
    inputs.push_back(astype(*biases, t));
  } else {
    inputs.push_back(scales);
  }
  inputs.push_back(l);
  inputs.push_back(r);
  array out = make_node<GatherQMM>(out_shape, t, std::move(inputs), s, transpose);
  // A global scale multiplies every element of W by g / (448 * 6): the product too.
  return gs ? multiply(out, astype(divide(*gs, detail::scalar(448.0 * 6.0, Dtype::float32)), t))
            : out;
}

namespace {

// Checks of qqmm / gather_qqmm shared by both; returns the inputs after x and the output's N.
struct QQArgs {
  QuantSpec spec;
  std::vector<array> extra;  // scales (packed w), gsx, gsw
  bool w_packed = false, has_gsx = false, has_gsw = false;
  int64_t N = 0;
};

QQArgs check_qq(const char* op, const array& x, const array& w,
                const std::optional<array>& scales, std::optional<int> group_size,
                std::optional<int> bits, const std::string& mode,
                const std::optional<array>& gsx, const std::optional<array>& gsw) {
  QQArgs a;
  a.spec = quant_spec(op, mode, group_size, bits);
  if (a.spec.affine()) {
    throw std::invalid_argument(msg("[", op, "] Supports the 'nvfp4', 'mxfp8' and 'mxfp4' "
                                    "modes, not 'affine'."));
  }
  auto g_x = check_global_scale(op, "global_scale_x", a.spec, gsx);
  auto g_w = check_global_scale(op, "global_scale_w", a.spec, gsw);
  require_float(op, "x", x);
  if (x.ndim() < 2) {
    throw std::invalid_argument(msg("[", op, "] x must have at least 2 dimensions, got shape ",
                                    x.shape(), "."));
  }
  const int64_t K = x.shape(-1);
  if (w.dtype() == Dtype::uint32) {
    if (!scales) {
      throw std::invalid_argument(msg("[", op, "] Scales must be given when w is packed (uint32)."));
    }
    int64_t cols = check_packed(op, w, *scales, std::nullopt, a.spec);
    if (cols != K) {
      throw std::invalid_argument(msg("[", op, "] The last dimension of x (shape ", x.shape(),
                                      ") must match the ", cols, " elements of each packed row "
                                      "of w (shape ", w.shape(), ")."));
    }
    a.w_packed = true;
    a.extra.push_back(*scales);
  } else {
    require_float(op, "w", w);
    if (scales) {
      throw std::invalid_argument(msg("[", op, "] Scales were given but w is not packed (dtype ",
                                      dtype_name(w.dtype()), ")."));
    }
    if (w.ndim() < 2 || w.shape(-1) != K) {
      throw std::invalid_argument(msg("[", op, "] The last dimension of w (shape ", w.shape(),
                                      ") must match the last dimension of x (shape ", x.shape(),
                                      ")."));
    }
  }
  if (K % a.spec.group_size != 0) {
    throw std::invalid_argument(msg("[", op, "] The last dimension of x (shape ", x.shape(),
                                    ") must be a multiple of the group size ", a.spec.group_size,
                                    "."));
  }
  a.N = w.shape(-2);
  if (g_x) a.extra.push_back(*g_x), a.has_gsx = true;
  if (g_w) a.extra.push_back(*g_w), a.has_gsw = true;
  return a;
}

}  // namespace

array qqmm(const array& x, const array& w, const std::optional<array>& scales,
           std::optional<int> group_size, std::optional<int> bits, const std::string& mode,
           const std::optional<array>& global_scale_x, const std::optional<array>& global_scale_w) {
  const char* op = "qqmm";
  QQArgs a = check_qq(op, x, w, scales, group_size, bits, mode, global_scale_x, global_scale_w);
  Shape batch = broadcast_shapes(op, batch_of(x), batch_of(w));
  std::vector<array> inputs{to_batch(x, batch), to_batch(w, batch)};
  if (a.w_packed) inputs.push_back(to_batch(a.extra[0], batch));
  for (size_t i = a.w_packed ? 1 : 0; i < a.extra.size(); ++i) inputs.push_back(a.extra[i]);
  Shape out_shape = batch;
  out_shape.push_back(x.shape(-2));
  out_shape.push_back(a.N);
  shape_size(out_shape, op);
  return make_node<QQMatmul>(out_shape, x.dtype(), std::move(inputs), a.spec, a.w_packed,
                             a.has_gsx, a.has_gsw, false);
}

array gather_qqmm(const array& x, const array& w, const std::optional<array>& scales,
                  const std::optional<array>& lhs_indices, const std::optional<array>& rhs_indices,
                  std::optional<int> group_size, std::optional<int> bits, const std::string& mode,
                  const std::optional<array>& global_scale_x,
                  const std::optional<array>& global_scale_w, bool sorted_indices) {
  const char* op = "gather_qqmm";
  (void)sorted_indices;
  if (!lhs_indices && !rhs_indices) {
    return qqmm(x, w, scales, group_size, bits, mode, global_scale_x, global_scale_w);
  }
  QQArgs a = check_qq(op, x, w, scales, group_size, bits, mode, global_scale_x, global_scale_w);
  auto [l, r] = gather_indices(op, x, w, lhs_indices, rhs_indices);
  Shape out_shape = l.shape();
  out_shape.push_back(x.shape(-2));
  out_shape.push_back(a.N);
  shape_size(out_shape, op);
  std::vector<array> inputs{x, w};
  inputs.insert(inputs.end(), a.extra.begin(), a.extra.end());
  inputs.push_back(l);
  inputs.push_back(r);
  return make_node<QQMatmul>(out_shape, x.dtype(), std::move(inputs), a.spec, a.w_packed,
                             a.has_gsx, a.has_gsw, true);
}

array to_fp8(const array& x) {
  require_float("to_fp8", "x", x);
  return make_node<ToFP8>(x.shape(), Dtype::uint8, {x});
}

array from_fp8(const array& x, Dtype dtype) {
  if (x.dtype() != Dtype::uint8) {
    throw type_error(msg("[from_fp8] x must be uint8 (E4M3 bytes), got ", dtype_name(x.dtype()), "."));
  }
  if (!is_floating(dtype)) {
    throw type_error(msg("[from_fp8] dtype must be a float dtype, got ", dtype_name(dtype), "."));
  }
  return make_node<FromFP8>(x.shape(), dtype, {x}, dtype);
}

}  // namespace ember
