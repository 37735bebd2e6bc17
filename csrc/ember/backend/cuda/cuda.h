// The CUDA backend's internal interface, shared by its host files (.cpp) and kernel files
// (.cu): checked CUDA calls, the CUDA stream of an ember stream, device pointers of arrays
// (with the copies and waits that make them valid on a stream), launch shapes, and the
// device-side error word kernels report bad indices through. Not installed with the headers.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ember/array.h"
#include "ember/device.h"

namespace ember::cuda {

/// Throws for a failed CUDA call: MemoryError for out-of-memory, RuntimeError otherwise,
/// naming what was being done.
void check(cudaError_t e, const char* what);
#define EMBER_CUDA_CHECK(call) ::ember::cuda::check((call), #call)
/// Checks the launch that just happened (bad configuration, missing kernel image).
void check_launch(const char* kernel);

/// The CUDA stream behind GPU stream `s` (its device is made current on this thread).
cudaStream_t stream_of(const Stream& s);
/// Makes GPU `device` current on this thread (cheap when it already is).
void set_device(int device);

/// Device pointer to the first element of `a` (offset included), valid for work queued on
/// `s`: a host buffer gets its device mirror (copied once, on `s`); a buffer written by
/// another GPU stream makes `s` wait for that stream's work first.
const void* input_ptr(const array& a, const Stream& s);
template <typename T>
const T* in(const array& a, const Stream& s) {
  return static_cast<const T*>(input_ptr(a, s));
}
/// Gives `out` a fresh row-contiguous buffer on its stream's device; its device pointer.
void* output_ptr(array& out);
template <typename T>
T* out_ptr(array& a) {
  return static_cast<T*>(output_ptr(a));
}
/// Device pointer of an already allocated GPU output (a view or a buffer set earlier).
void* device_ptr_of_output(const array& a);

/// A device scratch block for kernels queued on `s`: when it goes out of scope it stays
/// allocated until the work queued on `s` so far has finished (keep_until_done).
class Scratch {
 public:
  Scratch(size_t nbytes, const Stream& s);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  Scratch(Scratch&&) = default;
  void* get() const;
  template <typename T>
  T* as() const {
    return static_cast<T*>(get());
  }

 private:
  BufferPtr buffer_;
  Stream stream_;
};

/// Keeps `b` alive until the work queued on GPU stream `s` so far has finished.
void keep_until_done(const Stream& s, BufferPtr b);

/// A new evaluated array of `shape` / `dtype` in device memory of stream s (row-contiguous),
/// for results a kernel computes outside the graph (copies, temporaries). Kept alive until
/// the work queued on s so far has finished, even if dropped earlier.
array device_array(const Shape& shape, Dtype dtype, const Stream& s);

/// The value of a host-resident 1-element array (a Python scalar, a constant), read on the
/// host so that kernels take it as an argument instead of reading device memory; false if
/// `a` is not such an array (or lives on the GPU).
bool host_scalar(const array& a, void* value);

/// Where kernels report an index out of bounds: records in pinned host memory per device,
/// collected (and cleared) when a stream of that device is synchronized. Each failing node
/// claims one record by its tag (node_tag(): a compare-and-swap on `tag`, so the threads of
/// its kernels share a record); device.cpp then marks its output block failed, and the
/// results computed from it: reading them raises the IndexError. More failing nodes than
/// records before a collect set `overflow`: every gather and scatter since is taken as failed.
struct DeviceError {
  unsigned long long tag; // the failing node's tag (0: a free record)
  const void* out;        // the device block of the node's output
  int flag;               // 1: signed index; 2: unsigned (index holds its bits)
  int axis;               // the user's axis
  long long index;        // the offending index
  long long dim;          // the axis' size
  const char* op;         // interned op name (host pointer)
};
constexpr int kErrorRecords = 16;
struct DeviceErrors {
  DeviceError record[kErrorRecords];
  int overflow;
};
DeviceErrors* device_error(int device);
/// The tag of the node whose kernels this thread is queueing (its place in the lineage
/// device.cpp logs when the node is done), for kernels that may report an error.
unsigned long long node_tag();
/// A stable pointer to `name` (kernels store it in DeviceError.op).
const char* intern(const std::string& name);

/// Number of multiprocessors of the current device (for grid sizes).
int sm_count();

/// Blocks for n items of `per_block` each, at most `cap` (grid-stride loops cover the rest).
inline unsigned int blocks_for(int64_t n, int64_t per_block, int64_t cap = int64_t(1) << 30) {
  int64_t b = (n + per_block - 1) / per_block;
  if (b < 1) b = 1;
  if (b > cap) b = cap;
  return static_cast<unsigned int>(b);
}

}  // namespace ember::cuda
