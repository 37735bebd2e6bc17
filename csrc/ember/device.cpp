// Devices, the stream registry and the thread's current stream. The workers that run
// streams' queued work live with the scheduler (scheduler.cpp).
#include "ember/device.h"

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "ember/backend/gpu/gpu.h"
#include "ember/errors.h"

namespace ember {

namespace {

struct Registry {
  std::mutex mu;
  std::vector<Stream> streams;  // every stream that exists, by index
  Device default_device = cpu_device;
  std::vector<Stream> default_streams;  // per device (cpu first, then GPUs)
  int next_thread_local = 0;

  Registry() {
    streams.push_back(Stream(0, cpu_device));
    default_streams.push_back(streams.back());
    if (gpu::is_available()) {
      for (int i = 0; i < gpu::device_count(); ++i) {
        Stream s(int(streams.size()), Device(DeviceType::gpu, i));
        gpu::new_stream(s);
        streams.push_back(s);
        default_streams.push_back(s);
      }
    }
  }
};

size_t default_slot(const Device& d) {
  return d.type == DeviceType::cpu ? 0 : 1 + size_t(d.index);
}

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: worker threads may outlive statics
  return *r;
}

// The innermost StreamScope of this thread, if any.
thread_local std::optional<Stream> scoped_stream;

// The default stream of the default device, packed for the lock-free read every new node
// does: stream index (32 bits) | device type (8) | device index (24).
std::atomic<uint64_t> packed_default{0};
uint64_t pack(const Stream& s) {
  return uint64_t(uint32_t(s.index)) << 32 | uint64_t(s.device.type) << 24 |
         uint64_t(uint32_t(s.device.index) & 0xffffff);
}
Stream unpack(uint64_t v) {
  return Stream(int(uint32_t(v >> 32)), Device(DeviceType((v >> 24) & 0xff), int(v & 0xffffff)));
}

}  // namespace

const char* device_type_name(DeviceType t) { return t == DeviceType::cpu ? "cpu" : "gpu"; }

std::string device_str(const Device& d) {
  return msg("Device(", device_type_name(d.type), ", ", d.index, ")");
}

std::string stream_str(const Stream& s) {
  return msg("Stream(", device_str(s.device), ", ", s.index, ")");
}

int device_count(DeviceType t) { return t == DeviceType::cpu ? 1 : gpu::device_count(); }

bool is_available(const Device& d) {
  return d.index >= 0 && d.index < device_count(d.type);
}

void check_available(const Device& d, const char* op) {
  if (d.index < 0) {
    throw std::invalid_argument(msg("[", op, "] Device index must be non-negative, got ",
                                    device_str(d), "."));
  }
  if (is_available(d)) return;
  if (d.type == DeviceType::gpu && device_count(DeviceType::gpu) == 0) {
    throw std::invalid_argument(msg("[", op, "] ", device_str(d),
                                    " is not available: this build of ember has no GPU "
                                    "backend (or no GPU was found). Use mx.cpu."));
  }
  throw std::invalid_argument(msg("[", op, "] ", device_str(d), " is not available: there ",
                                  device_count(d.type) == 1 ? "is " : "are ",
                                  device_count(d.type), " ", device_type_name(d.type),
                                  " device(s)."));
}

std::vector<std::pair<std::string, std::string>> device_info(const Device& d) {
  check_available(d, "device_info");
  if (d.type == DeviceType::gpu) return gpu::device_info(d.index);
  std::string name;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; name.empty() && std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) name = line.substr(colon + 2);
    }
  }
#if defined(__x86_64__) || defined(_M_X64)
  const char* arch = "x86_64";
#elif defined(__aarch64__) || defined(_M_ARM64)
  const char* arch = "arm64";
#else
  const char* arch = "unknown";
#endif
  return {{"architecture", arch},
          {"device_name", name.empty() ? arch : name},
          {"threads", std::to_string(std::thread::hardware_concurrency())}};
}

Device default_device() {
  if (scoped_stream) return scoped_stream->device;
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.default_device;
}

void set_default_device(const Device& d) {
  check_available(d, "set_default_device");
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.default_device = d;
  packed_default.store(pack(r.default_streams[default_slot(d)]), std::memory_order_release);
}


Stream default_stream(const Device& d) {
  if (scoped_stream && scoped_stream->device == d) return *scoped_stream;
  check_available(d, "default_stream");
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.default_streams[default_slot(d)];
}

void check_stream(const Stream& s, const char* op) {
  check_available(s.device, op);
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (s.index < 0 || s.index >= int(r.streams.size()) || !(r.streams[s.index] == s)) {
    throw std::invalid_argument(msg("[", op, "] ", stream_str(s),
                                    " does not exist (streams are made with new_stream; "
                                    "clear_streams forgets them)."));
  }
}

void set_default_stream(const Stream& s) {
  check_stream(s, "set_default_stream");
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.default_streams[default_slot(s.device)] = s;
  packed_default.store(pack(r.default_streams[default_slot(r.default_device)]),
                       std::memory_order_release);
}

Stream new_stream(const Device& d) {
  check_available(d, "new_stream");
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  Stream s(int(r.streams.size()), d);
  if (d.type == DeviceType::gpu) gpu::new_stream(s);
  r.streams.push_back(s);
  return s;
}

ThreadLocalStream new_thread_local_stream(const Device& d) {
  check_available(d, "new_thread_local_stream");
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  return ThreadLocalStream{r.next_thread_local++, d};
}

Stream resolve(const ThreadLocalStream& s) {
  thread_local std::unordered_map<int, Stream> mine;
  auto it = mine.find(s.id);
  if (it != mine.end()) {
    // clear_streams may have forgotten it: make a new one then.
    auto& r = registry();
    std::unique_lock<std::mutex> lock(r.mu);
    const Stream& st = it->second;
    if (st.index < int(r.streams.size()) && r.streams[st.index] == st) return st;
    lock.unlock();
    mine.erase(it);
  }
  Stream st = new_stream(s.device);
  mine.emplace(s.id, st);
  return st;
}

StreamScope::StreamScope(const Stream& s) : previous_(scoped_stream) {
  check_stream(s, "stream");
  scoped_stream = s;
}

StreamScope::~StreamScope() { scoped_stream = previous_; }

namespace detail {

Stream current_stream() {
  if (scoped_stream) return *scoped_stream;
  return unpack(packed_default.load(std::memory_order_acquire));
}

// Used by clear_streams (scheduler.cpp) once the workers have stopped.
void forget_streams() {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  size_t keep = 1 + size_t(gpu::device_count());
  r.streams.resize(keep);
  for (size_t i = 0; i < r.default_streams.size(); ++i) r.default_streams[i] = r.streams[i];
  packed_default.store(pack(r.default_streams[default_slot(r.default_device)]),
                       std::memory_order_release);
}

}  // namespace detail

}  // namespace ember
