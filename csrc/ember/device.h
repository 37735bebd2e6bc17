// Devices and streams. A Device names a kind of processor (cpu, gpu) and its index; a Stream
// is an ordered queue of work on one device. Every node of the graph records the stream it
// runs on, taken when the op is called from the thread's current stream:
//
//   default_stream(default_device())   unless a StreamScope (Python: `with mx.stream(s)` or an
//                                       op's `stream=` keyword) says otherwise on this thread.
//
// The defaults set with set_default_device / set_default_stream are process-wide; a
// StreamScope is thread-local and nests. GPU devices are available only when a GPU backend is
// built in (backend/<name>/); is_available says so, and asking for an unavailable device is a
// std::invalid_argument (ValueError) that names the op.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ember/api.h"

namespace ember {

enum class DeviceType : uint8_t { cpu = 0, gpu = 1 };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  constexpr Device() = default;
  constexpr Device(DeviceType t, int i = 0) : type(t), index(i) {}  // NOLINT: implicit, as MLX
  friend constexpr bool operator==(const Device& a, const Device& b) {
    return a.type == b.type && a.index == b.index;
  }
};

inline constexpr Device cpu_device{DeviceType::cpu, 0};
inline constexpr Device gpu_device{DeviceType::gpu, 0};

/// "cpu" or "gpu".
EMBER_API const char* device_type_name(DeviceType t);
/// "Device(cpu, 0)".
EMBER_API std::string device_str(const Device& d);

/// True when kernels for `d` are built in and the device exists.
EMBER_API bool is_available(const Device& d);
/// Number of devices of a type (0 for gpu without a GPU backend).
EMBER_API int device_count(DeviceType t);
/// Facts about a device, as (key, value) pairs: "device_name", "architecture", memory sizes.
EMBER_API std::vector<std::pair<std::string, std::string>> device_info(const Device& d);

/// Throws std::invalid_argument "[op] ..." unless `d` is available.
EMBER_API void check_available(const Device& d, const char* op);

EMBER_API Device default_device();
EMBER_API void set_default_device(const Device& d);

struct Stream {
  int index = 0;
  Device device;

  constexpr Stream() = default;
  constexpr Stream(int i, Device d) : index(i), device(d) {}
  friend constexpr bool operator==(const Stream& a, const Stream& b) {
    return a.index == b.index && a.device == b.device;
  }
};

/// "Stream(Device(cpu, 0), 1)".
EMBER_API std::string stream_str(const Stream& s);

/// The stream ops on device `d` use on this thread (the innermost StreamScope's stream if it
/// is on `d`, else the process-wide default stream of `d`).
EMBER_API Stream default_stream(const Device& d);
/// Makes `s` the process-wide default stream of its device.
EMBER_API void set_default_stream(const Stream& s);
/// A new stream on `d`: work on it runs in order, and concurrently with other streams.
EMBER_API Stream new_stream(const Device& d);
/// Throws std::invalid_argument "[op] ..." unless `s` is a stream that exists.
EMBER_API void check_stream(const Stream& s, const char* op);

/// A thread-local stream family (MLX's ThreadLocalStream): each thread that resolves it gets
/// its own stream on `device`, created the first time.
struct ThreadLocalStream {
  int id = 0;
  Device device;
};
EMBER_API ThreadLocalStream new_thread_local_stream(const Device& d);
EMBER_API Stream resolve(const ThreadLocalStream& s);

/// While alive, ops built on this thread run on `s`, and `s`'s device is this thread's
/// default device. Scopes nest; destruction restores the enclosing one.
class EMBER_API StreamScope {
 public:
  explicit StreamScope(const Stream& s);
  ~StreamScope();
  StreamScope(const StreamScope&) = delete;
  StreamScope& operator=(const StreamScope&) = delete;

 private:
  std::optional<Stream> previous_;
};

/// Waits until every task queued on `s` (or on every stream) has finished.
EMBER_API void synchronize(const Stream& s);
EMBER_API void synchronize();

/// Finishes queued work, stops the streams' worker threads and forgets the streams made with
/// new_stream; the default streams stay (their workers restart on demand).
EMBER_API void clear_streams();

namespace detail {
/// The stream a node built now on this thread records.
EMBER_API Stream current_stream();
}  // namespace detail

}  // namespace ember
