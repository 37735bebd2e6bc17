// The array handle: a cheap shared reference to a node that holds shape,
// strides, dtype and, once evaluated, a buffer; until then, the primitive and
// inputs that will compute it. Nothing computes until eval().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "ember/allocator.h"
#include "ember/api.h"
#include "ember/device.h"
#include "ember/dtype.h"
#include "ember/shape.h"

namespace ember {

class Primitive;
class array;

/// Layout facts the kernels use to choose fast paths.
struct Flags {
  bool row_contiguous = true;  // strides are row-major (size-1 dims ignored)
  bool col_contiguous = true;  // strides are column-major
  bool contiguous = true;      // elements fill [data, data + size) densely, in some order
};

namespace detail {
struct Node;
struct Siblings;
struct SchedulerAccess;
/// Where a node is in its life: built, claimed by an eval (queued on its stream), its
/// kernel running, computed. Moves forward only, except that an eval that fails puts the
/// nodes it had claimed but not computed back to `unscheduled` (so nothing is lost and a
/// later eval can try again).
enum class Status : uint8_t { unscheduled = 0, claimed = 1, running = 2, done = 3 };
}  // namespace detail

class EMBER_API array {
 public:
  /// A 0-d array holding a scalar (bool, integers, float, double, complex).
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T> ||
                                                    std::is_same_v<T, complex64_t> ||
                                                    std::is_same_v<T, float16_t> ||
                                                    std::is_same_v<T, bfloat16_t>>>
  array(T value) : array(&value, Shape{}, dtype_of<T>) {}
  /// A 0-d array of `value` converted to `dtype`.
  template <typename T>
  array(T value, Dtype dtype) : array(array(value).astype_now(dtype)) {}
  /// A 1-d array from a list of values.
  template <typename T, typename = std::enable_if_t<!std::is_same_v<T, array>>>
  array(std::initializer_list<T> values)
      : array(values.begin(), Shape{int64_t(values.size())}, dtype_of<T>) {}
  /// An array of `shape` from values (converted to dtype).
  template <typename T>
  array(std::initializer_list<T> values, Shape shape, Dtype dtype = dtype_of<T>)
      : array(std::vector<T>(values), std::move(shape), dtype) {}
  template <typename T>
  array(const std::vector<T>& values, Shape shape, Dtype dtype = dtype_of<T>)
      : array(array(static_cast<const void*>(values.data()), check_count(values.size(), shape),
                    dtype_of<T>)
                  .astype_now(dtype)) {}
  /// Copies shape-many elements of `dtype` from row-major `data`.
  array(const void* data, Shape shape, Dtype dtype);
  /// A lazy array: the output of `primitive` applied to `inputs`, run on the thread's
  /// current stream (detail::current_stream()).
  array(Shape shape, Dtype dtype, std::shared_ptr<Primitive> primitive, std::vector<array> inputs);
  /// The outputs of one multi-output node: `primitive` computes them all in one call. Each
  /// output knows its siblings (see siblings()).
  static std::vector<array> make_siblings(std::vector<Shape> shapes, std::vector<Dtype> dtypes,
                                          std::shared_ptr<Primitive> primitive,
                                          std::vector<array> inputs);
  /// An unevaluated placeholder (used by vmap to trace a function); it can
  /// never be evaluated.
  static array placeholder(Shape shape, Dtype dtype);

  array() = default;
  array(const array&) = default;
  array(array&&) noexcept = default;
  array& operator=(const array&) = default;
  array& operator=(array&&) noexcept = default;

  const Shape& shape() const;
  int64_t shape(int dim) const;
  const Strides& strides() const;
  int ndim() const { return int(shape().size()); }
  int64_t size() const;
  Dtype dtype() const;
  size_t itemsize() const { return size_of(dtype()); }
  size_t nbytes() const { return size_t(size()) * itemsize(); }
  bool valid() const { return node_ != nullptr; }

  /// True once the array holds data (its kernel has finished).
  bool is_evaluated() const;
  detail::Status status() const;
  /// The stream this array's node runs on.
  Stream stream() const;
  /// Number of outputs of this array's node (1 unless it is a multi-output node).
  int num_siblings() const;
  /// Which output of its node this array is (0 for single-output nodes).
  int sibling_position() const;
  /// Every output of this array's node, itself included, in order. An output that nobody
  /// holds any more is made again (the same computation's output) while the node is not yet
  /// scheduled; once it is, such an output comes back as an unevaluable stand-in of its shape.
  std::vector<array> siblings() const;
  bool has_primitive() const;
  bool is_placeholder() const { return !is_evaluated() && !has_primitive(); }
  Primitive& primitive() const;
  std::shared_ptr<Primitive> primitive_ptr() const;
  const std::vector<array>& inputs() const;

  /// Computes this array (and what it depends on); waits if another thread or stream is
  /// computing it. Thread-safe. Every host read of array data goes through eval first.
  void eval();
  /// The value of a 1-element array converted to T; evaluates first.
  template <typename T>
  T item();

  /// Element offset of the first element inside the buffer.
  int64_t offset() const;
  const Flags& flags() const;
  const BufferPtr& buffer() const;
  /// Pointer to the first element (after eval).
  template <typename T>
  T* data() const {
    return reinterpret_cast<T*>(raw_data());
  }
  void* raw_data() const;

  /// Identity of the node, for graph walks (equal for copies of one handle).
  uintptr_t id() const { return reinterpret_cast<uintptr_t>(node_.get()); }
  /// Identity of the computation: the same for every output of a multi-output node.
  uintptr_t group_id() const;
  bool is_same(const array& other) const { return node_ == other.node_; }

  // ---- used by kernels and the eval loop ----
  /// Gives the array a fresh row-contiguous buffer of its size.
  void allocate_row_contiguous();
  /// Uses `buffer` as row-contiguous storage.
  void set_buffer(BufferPtr buffer);
  /// Makes this array a view into src's buffer.
  void set_view(const array& src, Strides strides, int64_t offset);
  /// Forgets the primitive and inputs once evaluated, so intermediates can be freed.
  void detach();
  /// Publishes the result (status done); called by the scheduler after the kernel.
  void mark_done();
  /// A copy with `dtype`, computed now (for constructors).
  array astype_now(Dtype dtype) const;

 private:
  static Shape check_count(size_t n, const Shape& shape);
  friend struct detail::Node;
  friend struct detail::SchedulerAccess;
  std::shared_ptr<detail::Node> node_;
};

namespace detail {
struct Node {
  Shape shape;
  Strides strides;
  Dtype dtype = Dtype::float32;
  int64_t size = 0;
  int64_t offset = 0;
  Flags flags;
  BufferPtr buffer;
  std::shared_ptr<Primitive> primitive;
  std::vector<array> inputs;
  Stream stream;
  std::atomic<uint8_t> own_status{0};
  /// The status the scheduler reads and writes: own_status, or the shared status of a
  /// multi-output node's outputs (in `siblings`), which are claimed and computed together.
  std::atomic<uint8_t>* status = &own_status;
  std::shared_ptr<Siblings> siblings;  // null for single-output nodes
  int position = 0;
  ~Node();
};

/// What the outputs of one multi-output node share. Outputs refer to each other weakly, so
/// an unevaluated group does not keep itself alive.
struct Siblings {
  std::atomic<uint8_t> status{0};
  std::mutex mu;  // guards nodes (an output may be re-made while others are read)
  std::vector<std::weak_ptr<Node>> nodes;
  std::vector<Shape> shapes;
  std::vector<Dtype> dtypes;
};
}  // namespace detail

namespace detail {
/// While > 0, eval keeps the graph of evaluated nodes (a transform is tracing
/// and may still walk through them).
EMBER_API int& tracing_depth();
/// The name of the primitive whose kernel runs on this thread (the scheduler sets it around
/// each kernel), or null: a failed allocation of a kernel's scratch array names that op.
EMBER_API const char*& running_kernel();
/// How eval waits for a node that another thread or stream is computing: `wait(ctx)` runs
/// through this hook. The Python module sets one that releases the interpreter lock around
/// the wait when the thread holds it, so that a C++ call made with the lock held (a compile
/// trace folding its constants, say) cannot block the stream worker it waits for, which
/// may need the lock to drop a Python rule of a node it has computed.
using BlockingHook = void (*)(void (*wait)(void*), void* ctx);
EMBER_API void set_blocking_hook(BlockingHook hook);
struct TracingScope {
  TracingScope() { ++tracing_depth(); }
  ~TracingScope() { --tracing_depth(); }
};
}  // namespace detail

/// Computes every array in `outputs`, sharing work among them, on the calling thread (work
/// that another thread or stream already has is waited for, not repeated).
EMBER_API void eval(std::vector<array> outputs);
inline void eval(array a) { eval(std::vector<array>{std::move(a)}); }
/// Queues the work for `outputs` on their streams' worker threads and returns at once; a
/// later eval (item, numpy, printing) or synchronize waits for it.
EMBER_API void async_eval(std::vector<array> outputs);

/// Reads element i (row-major logical index) of an evaluated array as T.
template <typename T>
T element_as(const array& a, int64_t index);

template <typename T>
T array::item() {
  if (size() != 1) {
    throw std::invalid_argument(
        "[item] Only arrays with one element can be converted to a scalar, got shape " +
        shape_str(shape()) + ".");
  }
  eval();
  return element_as<T>(*this, 0);
}

template <typename T>
T element_as(const array& a, int64_t index) {
  int64_t off = 0;
  for (int i = a.ndim() - 1; i >= 0; --i) {
    int64_t d = a.shape(i);
    off += (index % d) * a.strides()[i];
    index /= d;
  }
  return dispatch_dtype(a.dtype(), [&](auto v) -> T {
    using V = decltype(v);
    V x = a.data<V>()[off];
    if constexpr (std::is_same_v<V, complex64_t>) {
      if constexpr (std::is_same_v<T, complex64_t>) return x;
      else return static_cast<T>(x.real());
    } else if constexpr (std::is_same_v<V, float16_t> || std::is_same_v<V, bfloat16_t>) {
      return static_cast<T>(static_cast<float>(x));
    } else {
      return static_cast<T>(x);
    }
  });
}

}  // namespace ember
