// array handle, node lifetime (iterative destruction), and the eval loop.
#include "ember/array.h"

#include <algorithm>
#include <atomic>
#include <cstring>

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

const char*& running_kernel() {
  static thread_local const char* name = nullptr;
  return name;
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

// a * b for a, b >= 0, saturated at kMaxArraySize as row_major_strides does: only the
// dimensions of an empty array (a zero among huge ones) can overflow int64.
static int64_t mul_sat(int64_t a, int64_t b) {
  return b != 0 && a > kMaxArraySize / b ? kMaxArraySize : a * b;
}

Flags compute_flags(const Shape& shape, const Strides& strides) {
  Flags f;
  int64_t expect = 1;
  for (int i = int(shape.size()) - 1; i >= 0; --i) {
    if (shape[i] == 1) continue;
    if (strides[i] != expect) f.row_contiguous = false;
    expect = mul_sat(expect, shape[i]);
  }
  expect = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (strides[i] != expect) f.col_contiguous = false;
    expect = mul_sat(expect, shape[i]);
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
      e = mul_sat(e, sz);
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
  node_->stream = default_stream(cpu_device);  // host data
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
  node_->stream = detail::current_stream();
}

std::vector<array> array::make_siblings(std::vector<Shape> shapes, std::vector<Dtype> dtypes,
                                        std::shared_ptr<Primitive> primitive,
                                        std::vector<array> inputs) {
  if (shapes.size() != dtypes.size() || shapes.empty()) {
    throw std::invalid_argument("[make_siblings] Needs one dtype per shape, and at least one.");
  }
  auto group = std::make_shared<detail::Siblings>();
  std::vector<array> outs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    array a(shapes[i], dtypes[i], primitive, inputs);
    a.node_->siblings = group;
    a.node_->status = &group->status;
    a.node_->position = int(i);
    group->nodes.push_back(a.node_);
    outs.push_back(std::move(a));
  }
  group->shapes = std::move(shapes);
  group->dtypes = std::move(dtypes);
  return outs;
}

array array::placeholder(Shape shape, Dtype dtype) {
  array a;
  a.node_ = std::make_shared<detail::Node>();
  a.node_->size = shape_size(shape);
  a.node_->strides = row_major_strides(shape);
  a.node_->shape = std::move(shape);
  a.node_->dtype = dtype;
  a.node_->stream = detail::current_stream();
  return a;
}

const Shape& array::shape() const { return node_->shape; }
int64_t array::shape(int dim) const {
  return node_->shape.at(dim < 0 ? dim + ndim() : dim);
}
const Strides& array::strides() const { return node_->strides; }
int64_t array::size() const { return node_->size; }
Dtype array::dtype() const { return node_->dtype; }
bool array::is_evaluated() const { return status() == detail::Status::done; }
detail::Status array::status() const {
  return detail::Status(node_->status->load(std::memory_order_acquire));
}
Stream array::stream() const { return node_->stream; }
int array::num_siblings() const {
  return node_->siblings ? int(node_->siblings->shapes.size()) : 1;
}
uintptr_t array::group_id() const {
  return node_->siblings ? reinterpret_cast<uintptr_t>(node_->siblings.get()) : id();
}
int array::sibling_position() const { return node_->position; }
std::vector<array> array::siblings() const {
  if (!node_->siblings) return {*this};
  auto& g = *node_->siblings;
  std::lock_guard<std::mutex> lock(g.mu);
  const bool unscheduled = status() == detail::Status::unscheduled && node_->primitive;
  std::vector<array> outs(g.shapes.size());
  for (size_t i = 0; i < outs.size(); ++i) {
    if (auto n = g.nodes[i].lock()) {
      outs[i].node_ = std::move(n);
      continue;
    }
    if (unscheduled) {
      // Re-make the output as a member of the same node, so a rule can use it.
      array a(g.shapes[i], g.dtypes[i], node_->primitive, node_->inputs);
      a.node_->stream = node_->stream;
      a.node_->siblings = node_->siblings;
      a.node_->status = &g.status;
      a.node_->position = int(i);
      g.nodes[i] = a.node_;
      outs[i] = std::move(a);
    } else {
      outs[i] = placeholder(g.shapes[i], g.dtypes[i]);
      outs[i].node_->stream = node_->stream;
    }
  }
  return outs;
}
void array::mark_done() {
  node_->status->store(uint8_t(detail::Status::done), std::memory_order_release);
}
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
  // A scratch array of a kernel (no primitive of its own) is named after that kernel.
  const char* running = detail::running_kernel();
  const char* name = has_primitive() ? primitive().name() : running ? running : "array";
  checked_nbytes(name, shape(), dtype());  // MemoryError beyond RAM + swap, before malloc
  BufferPtr b;
  try {
    // A node's output lives in the home of its stream's device (allocator.h); arrays without
    // a primitive (host data, scratch arrays of CPU kernels) are host memory.
    b = has_primitive() ? allocate(nbytes(), node_->stream) : allocate(nbytes());
  } catch (const std::bad_alloc& e) {
    // Say which computation failed, for which shape and how much (not "std::bad_alloc"),
    // keeping the allocator's reason (e.g. the memory limit) when it gave one.
    const std::string why = e.what();
    throw memory_error(msg("[", name, "] Failed to allocate ", bytes_str(nbytes()), " (", nbytes(),
                           " bytes) for an array of shape ", shape(), " and dtype ",
                           dtype_name(dtype()), ".",
                           why.empty() || why == "std::bad_alloc" ? "" : " " + why));
  }
  set_buffer(std::move(b));
}

void array::set_buffer(BufferPtr buffer) {
  node_->buffer = std::move(buffer);
  node_->strides = row_major_strides(node_->shape);
  node_->offset = 0;
  node_->flags = Flags{};
  // Host-built data (no primitive) is complete once it has a buffer; a node with a
  // primitive is published by the scheduler after its kernel returns.
  if (!node_->primitive) mark_done();
}

void array::set_view(const array& src, Strides strides, int64_t offset) {
  node_->buffer = src.buffer();
  node_->flags = detail::compute_flags(node_->shape, strides);
  node_->strides = std::move(strides);
  node_->offset = offset;
}

void array::detach() {
  std::shared_ptr<Primitive> primitive;
  std::vector<array> old;
  {
    // Not while another thread walks a graph that reaches this node (graph.h).
    std::unique_lock<std::shared_mutex> lock(detail::graph_mutex());
    primitive = std::move(node_->primitive);
    old = std::move(node_->inputs);
    node_->inputs.clear();
  }
  // Both are released here, outside the lock (dropping a Python rule takes the interpreter
  // lock); the iterative Node destructor handles long chains.
}

array array::astype_now(Dtype dtype) const {
  if (dtype == this->dtype()) return *this;
  array out = placeholder(shape(), dtype);
  out.allocate_row_contiguous();
  cpu::copy_cast(*this, out);  // host data to host data: plain conversion, no graph
  return out;
}

void array::eval() { ember::eval(std::vector<array>{*this}); }

}  // namespace ember
