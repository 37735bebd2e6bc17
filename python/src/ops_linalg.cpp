// Bindings of the linalg family: matmul, outer, inner, tensordot, einsum.
#include "bindings.h"
#include "convert.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

// One side of tensordot's axes pair: an int or a sequence of ints.
std::vector<int> axis_list(nb::handle h) {
  if (nb::isinstance<nb::int_>(h)) return {nb::cast<int>(h)};
  return nb::cast<std::vector<int>>(h);
}

}  // namespace

void init_ops_linalg(nb::module_& m) {
  def_op(m, "matmul", [](ArrayArg a, ArrayArg b) {
    auto [x, y] = to_arrays(a, b);
    return matmul(x, y);
  }, "a"_a, "b"_a,
  R"(Matrix product with numpy semantics.

1-D operands become a row (a) or a column (b), and that dimension is dropped
from the result; leading batch dimensions broadcast. float32 / float64 /
complex64 use BLAS; bool gives bool (numpy's rule).

Args:
    a (array): left operand, at least 1-D.
    b (array): right operand, at least 1-D.

Returns:
    array: a @ b.

Example:
    >>> mx.matmul(mx.ones((8, 2, 3)), mx.ones((3, 4))).shape
    (8, 2, 4))");

  def_op(m, "outer", [](ArrayArg a, ArrayArg b) {
    auto [x, y] = to_arrays(a, b);
    return outer(x, y);
  }, "a"_a, "b"_a,
  R"(Outer product of the flattened inputs.

Args:
    a (array): input, flattened.
    b (array): input, flattened.

Returns:
    array: out[i, j] = a[i] * b[j], of shape (a.size, b.size).)");

  def_op(m, "inner", [](ArrayArg a, ArrayArg b) {
    auto [x, y] = to_arrays(a, b);
    return inner(x, y);
  }, "a"_a, "b"_a,
  R"(Inner product over the last axes (a product when either is 0-d).

Args:
    a (array): input.
    b (array): input with the same last dimension as a.

Returns:
    array: of shape a.shape[:-1] + b.shape[:-1].)");

  def_op(m, "tensordot", [](ArrayArg a, ArrayArg b, TensordotAxesArg axes) {
    auto [x, y] = to_arrays(a, b);
    if (nb::isinstance<nb::int_>(axes)) return tensordot(x, y, nb::cast<int>(axes));
    if (!nb::isinstance<nb::sequence>(axes) || nb::len(axes) != 2) {
      throw nb::type_error("[tensordot] axes must be an int or a pair (axes_a, axes_b).");
    }
    return tensordot(x, y, axis_list(axes[0]), axis_list(axes[1]));
  }, "a"_a, "b"_a, "axes"_a = 2,
  R"(Sums products over the given axes of a and b.

Args:
    a (array): input.
    b (array): input.
    axes (int or tuple(list(int), list(int))): an int n contracts the last n
        axes of a with the first n of b; a pair lists the axes of each, in
        matching order. Default: 2.

Returns:
    array: the free axes of a followed by the free axes of b.)");

  def_op(m, "addmm", [](ArrayArg c, ArrayArg a, ArrayArg b, double alpha, double beta) {
    auto [x, y] = to_arrays(a, b);
    return addmm(to_array(c, std::nullopt, &x), x, y, alpha, beta);
  }, "c"_a, "a"_a, "b"_a, "alpha"_a = 1.0, "beta"_a = 1.0,
  R"(alpha * (a @ b) + beta * c.

Args:
    c (array): added to the product (broadcasts to its shape).
    a (array): left operand of the product.
    b (array): right operand.
    alpha (float): scale of the product. Default: 1.
    beta (float): scale of c. Default: 1.

Returns:
    array: the result.)");
  def_op(m, "kron", [](ArrayArg a, ArrayArg b) {
    auto [x, y] = to_arrays(a, b);
    return kron(x, y);
  }, "a"_a, "b"_a,
  R"(Kronecker product: a block array with blocks a[i, j, ...] * b.

Args:
    a (array): first operand.
    b (array): second operand (the lower-rank one gets leading size-1 axes).

Returns:
    array: of shape a.shape * b.shape elementwise.)");
  def_op(m, "vecdot", [](ArrayArg a, ArrayArg b, AxisArg axis) {
    auto [x, y] = to_arrays(a, b);
    return vecdot(x, y, to_axis("vecdot", axis));
  }, "a"_a, "b"_a, nb::kw_only(), "axis"_a = -1,
  R"(The dot product of vectors along axis: sum(conj(a) * b, axis).

Args:
    a (array): first operand (conjugated when complex).
    b (array): second operand, broadcast against a.
    axis (int): the axis of the vectors. Default: -1.

Returns:
    array: the broadcast shape without axis.)");
  def_op(m, "trace", [](ArrayArg a, int offset, AxisArg axis1, AxisArg axis2,
                          std::optional<Dtype> dtype) {
    return trace(to_array(a), offset, to_axis("trace", axis1), to_axis("trace", axis2), dtype);
  }, "a"_a, "offset"_a = 0, "axis1"_a = 0, "axis2"_a = 1, "dtype"_a = nb::none(),
  R"(Sum along a diagonal.

Args:
    a (array): input, at least 2-D.
    offset (int): the diagonal (> 0 above the main one). Default: 0.
    axis1 (int): row axis. Default: 0.
    axis2 (int): column axis. Default: 1.
    dtype (Dtype, optional): the result's dtype (sum's dtype when None).

Returns:
    array: the sums of the diagonals.)");
  def_op(m, "hadamard_transform", [](ArrayArg a, std::optional<double> scale) {
    return hadamard_transform(to_array(a), scale);
  }, "a"_a, "scale"_a = nb::none(),
  R"(The Walsh-Hadamard transform along the last axis (its size a power of two).

Args:
    a (array): input; ints and bool are transformed in float32.
    scale (float, optional): factor applied to the result; 1/sqrt(n) when None,
        which makes the transform orthonormal.

Returns:
    array: the transform, shaped like a.)");
  nb::handle cls = nb::type<array>();
  nb::setattr(cls, "__imatmul__", nb::cpp_function([](const array& a, ArrayArg b) {
    return matmul(a, to_array(b, std::nullopt, &a));
  }, nb::is_method(), "b"_a, "a @= b (a new array: ember arrays are immutable)."));

  def_op(m, "einsum", [](const std::string& subscripts, nb::args operands) {
    std::vector<array> xs;
    for (nb::handle h : operands) xs.push_back(to_array(h));
    return einsum(subscripts, xs);
  }, "subscripts"_a, "operands"_a,
  nb::sig("def einsum(subscripts: str, *operands: array, " EMBER_STREAM_PARAM ") -> array"),
  R"(Einstein summation over the operands, as matmuls.

Supports explicit ("ij,jk->ik") and implicit ("ij,jk") outputs, letters
repeated in one operand (diagonals, traces: "ii->i", "ii"), letters summed
away, "..." for the axes no letter names ("...ij,...jk->...ik"), and size-1
axes broadcasting against larger ones, as numpy does.

Args:
    subscripts (str): the subscripts, one term per operand, e.g. "bij,bjk->bik".
    *operands (array): the inputs.

Returns:
    array: the result, with the output letters' axes in order.)");
}
