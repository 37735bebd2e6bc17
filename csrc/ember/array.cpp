// array handle, node lifetime (iterative destruction), and the eval loop.
#include "ember/array.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

#include "ember/backend/cpu/copy.h"
#include "ember/errors.h"
#include "ember/graph.h"
#include "ember/primitives/primitive.h"

namespace ember {

namespace detail {

int& tracing_depth() {
  static thread_local int depth = 0;
  return depth;
}

// Destroying the last handle of a long unevaluated chain would recurse once per
// node through shared_ptr destructors. Instead, inputs that are about to die
// with this node are moved to a local stack and released one at a time.
Node::~Node() {
  if (inputs.empty()) return;
  std::vector<array> stack = std::move(inputs);
  inputs.clear();
  while (!stack.empty()) {
    array a = std::move(stack.back());
    stack.pop_back();
    if (a.node_ && a.node_.use_count() == 1 && !a.node_->inputs.empty()) {
      for (auto& in : a.node_->inputs) stack.push_back(std::move(in));
      a.node_->inputs.clear();
    }
  }
}

Flags compute_flags(const Shape& shape, const Strides& strides) {
  Flags f;
  int64_t expect = 1;
  for (int i = int(shape.size()) - 1; i >= 0; --i) {
    if (shape[i] == 1) continue;
    if (strides[i] != expect) f.row_contiguous = false;
    expect *= shape[i];
  }
  expect = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (strides[i] != expect) f.col_contiguous = false;
    expect *= shape[i];
  }
  // Dense in some order: sorting the (stride, size) pairs gives a row-major layout.
  f.contiguous = f.row_contiguous || f.col_contiguous;
  if (!f.contiguous) {
    std::vector<std::pair<int64_t, int64_t>> dims;
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] != 1) dims.emplace_back(strides[i], shape[i]);
    }
    std::sort(dims.begin(), dims.end());
    int64_t e = 1;
    bool dense = true;
    for (auto& [st, sz] : dims) {
      if (st != e) {
        dense = false;
        break;
      }
      e *= sz;
    }
    f.contiguous = dense;
  }
  return f;
}

}  // namespace detail

Shape array::check_count(size_t n, const Shape& shape) {
  if (int64_t(n) != shape_size(shape)) {
    throw std::invalid_argument(msg("[array] ", n, " values cannot fill shape ", shape, "."));
  }
  return shape;
}

array::array(const void* data, Shape shape, Dtype dtype) {
  node_ = std::make_shared<detail::Node>();
  node_->size = shape_size(shape);
  node_->strides = row_major_strides(shape);
  node_->shape = std::move(shape);
  node_->dtype = dtype;
  allocate_row_contiguous();
  if (node_->size > 0) std::memcpy(raw_data(), data, nbytes());
}

array::array(Shape shape, Dtype dtype, std::shared_ptr<Primitive> primitive,
             std::vector<array> inputs) {
  node_ = std::make_shared<detail::Node>();
  // Ops check sizes under their own names first; this catches any output shape they built.
  // (Bytes are checked when a buffer is allocated: a view of a huge shape costs nothing.)
  node_->size = shape_size(shape, primitive ? primitive->name() : "array");
  node_->strides = row_major_strides(shape);
  node_->shape = std::move(shape);
  node_->dtype = dtype;
  node_->primitive = std::move(primitive);
  node_->inputs = std::move(inputs);
}

array array::placeholder(Shape shape, Dtype dtype) {
  array a;
  a.node_ = std::make_shared<detail::Node>();
  a.node_->size = shape_size(shape);
  a.node_->strides = row_major_strides(shape);
  a.node_->shape = std::move(shape);
  a.node_->dtype = dtype;
  return a;
}

const Shape& array::shape() const { return node_->shape; }
int64_t array::shape(int dim) const {
  return node_->shape.at(dim < 0 ? dim + ndim() : dim);
}
const Strides& array::strides() const { return node_->strides; }
int64_t array::size() const { return node_->size; }
Dtype array::dtype() const { return node_->dtype; }
bool array::is_evaluated() const { return node_->buffer != nullptr; }
bool array::has_primitive() const { return node_->primitive != nullptr; }
Primitive& array::primitive() const { return *node_->primitive; }
std::shared_ptr<Primitive> array::primitive_ptr() const { return node_->primitive; }
const std::vector<array>& array::inputs() const { return node_->inputs; }
int64_t array::offset() const { return node_->offset; }
const Flags& array::flags() const { return node_->flags; }
const BufferPtr& array::buffer() const { return node_->buffer; }

void* array::raw_data() const {
  return static_cast<char*>(node_->buffer->data()) + node_->offset * int64_t(itemsize());
}

void array::allocate_row_contiguous() {
  const char* name = has_primitive() ? primitive().name() : "array";
  checked_nbytes(name, shape(), dtype());  // MemoryError beyond RAM + swap, before malloc
  BufferPtr b;
  try {
    b = allocate(nbytes());
  } catch (const std::bad_alloc&) {
    // Say which computation failed, for which shape and how much (not "std::bad_alloc").
    throw memory_error(msg("[", name, "] Failed to allocate ", bytes_str(nbytes()), " (", nbytes(),
                           " bytes) for an array of shape ", shape(), " and dtype ",
                           dtype_name(dtype()), "."));
  }
  set_buffer(std::move(b));
}

void array::set_buffer(BufferPtr buffer) {
  node_->buffer = std::move(buffer);
  node_->strides = row_major_strides(node_->shape);
  node_->offset = 0;
  node_->flags = Flags{};
}

void array::set_view(const array& src, Strides strides, int64_t offset) {
  node_->buffer = src.buffer();
  node_->flags = detail::compute_flags(node_->shape, strides);
  node_->strides = std::move(strides);
  node_->offset = offset;
}

void array::detach() {
  node_->primitive.reset();
  std::vector<array> old = std::move(node_->inputs);
  node_->inputs.clear();
  // `old` is released here; the iterative Node destructor handles long chains.
}

array array::astype_now(Dtype dtype) const {
  if (dtype == this->dtype()) return *this;
  array out = placeholder(shape(), dtype);
  out.allocate_row_contiguous();
  cpu::copy_cast(*this, out);
  return out;
}

void array::eval() { ember::eval(std::vector<array>{*this}); }

namespace {
std::recursive_mutex& eval_mutex() {
  static std::recursive_mutex m;
  return m;
}
}  // namespace

void eval(std::vector<array> outputs) {
  std::lock_guard<std::recursive_mutex> lock(eval_mutex());
  auto order = detail::topological_order(
      outputs, [](const array& a) { return a.has_primitive() && !a.is_evaluated(); });
  for (const auto& a : order) {
    if (a.is_placeholder()) {
      throw std::invalid_argument(
          "[eval] Cannot evaluate a value that depends on a traced input of vmap. "
          "Inside vmap, return arrays instead of reading their values (item, tolist, numpy).");
    }
  }
  bool keep_graph = detail::tracing_depth() > 0;
  for (auto& a : order) {
    if (!a.is_evaluated()) {
      a.primitive().eval_cpu(a.inputs(), a);
      if (!keep_graph) a.detach();
    }
    a = array();  // drop the walk's reference so consumed intermediates are freed
  }
}

}  // namespace ember
