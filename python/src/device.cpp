// Bindings of devices, streams, async evaluation and memory: Device, DeviceType, Stream,
// ThreadLocalStream, StreamContext (mx.stream), the defaults, synchronize, async_eval, the
// allocator's counters and limits, and the mx.metal / mx.cuda namespaces.
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <unordered_set>

#include "bindings.h"
#include "convert.h"
#include "ember/allocator.h"
#include "ember/array.h"
#include "ember/backend/cpu/threadpool.h"
#include "ember/backend/gpu/gpu.h"
#include "ember/errors.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace ember::py {

using AnyStream = std::variant<Stream, ThreadLocalStream, Device, DeviceType>;
using AnyDevice = std::variant<Device, DeviceType>;

Stream to_stream(const AnyStream& s, const char* op) {
  if (auto* st = std::get_if<Stream>(&s)) {
    check_stream(*st, op);
    return *st;
  }
  if (auto* t = std::get_if<ThreadLocalStream>(&s)) return resolve(*t);
  Device d = std::holds_alternative<Device>(s) ? std::get<Device>(s) : Device(std::get<DeviceType>(s));
  check_available(d, op);
  return default_stream(d);
}

}  // namespace ember::py

namespace {

Device to_device(const AnyDevice& d) {
  return std::holds_alternative<Device>(d) ? std::get<Device>(d) : Device(std::get<DeviceType>(d));
}

// `with mx.stream(s):` runs the ops built inside on s (and makes s's device the default).
struct StreamContext {
  Stream stream;
  std::unique_ptr<StreamScope> scope;
};

}  // namespace

void init_device(nb::module_& m) {
  nb::enum_<DeviceType>(m, "DeviceType", "The kind of a device: cpu or gpu.")
      .value("cpu", DeviceType::cpu)
      .value("gpu", DeviceType::gpu);

  nb::class_<Device>(m, "Device", "A device: its type (cpu or gpu) and index.")
      .def("__init__",
           [](Device* self, DeviceType type, int index) {
             if (index < 0) {
               throw std::invalid_argument(
                   msg("[Device] The index must be non-negative, got ", index, "."));
             }
             new (self) Device(type, index);
           },
           "type"_a, "index"_a = 0)
      .def_ro("type", &Device::type, "cpu or gpu.")
      .def_ro("index", &Device::index, "Which device of its type.")
      .def("__repr__", [](const Device& d) { return device_str(d); })
      // Any object compares (as object.__eq__ takes): a Device, or a DeviceType (device 0).
      .def("__eq__", [](const Device& a, nb::handle b) {
        if (nb::isinstance<Device>(b)) return a == nb::cast<Device>(b);
        if (nb::isinstance<DeviceType>(b)) return a == Device(nb::cast<DeviceType>(b));
        return false;
      }, nb::sig("def __eq__(self, other: object) -> bool"))
      .def("__hash__", [](const Device& d) { return int(d.type) * 1024 + d.index; });
  // As in MLX, mx.cpu and mx.gpu are the device types; wherever a Device is taken, a
  // DeviceType means device 0 of that type.
  m.attr("cpu") = DeviceType::cpu;
  m.attr("gpu") = DeviceType::gpu;

  nb::class_<Stream>(m, "Stream", "An ordered queue of work on one device (see new_stream).")
      .def_ro("device", &Stream::device, "The stream's device.")
      .def_ro("index", &Stream::index, "The stream's number.")
      .def("__repr__", [](const Stream& s) { return stream_str(s); })
      .def("__eq__", [](const Stream& a, nb::handle b) {
        return nb::isinstance<Stream>(b) && a == nb::cast<Stream>(b);
      }, nb::sig("def __eq__(self, other: object) -> bool"))
      .def("__hash__", [](const Stream& s) { return s.index; });

  nb::class_<ThreadLocalStream>(
      m, "ThreadLocalStream",
      "A stream that is a different stream on each thread (see new_thread_local_stream).")
      .def_ro("device", &ThreadLocalStream::device, "The streams' device.")
      .def("__repr__", [](const ThreadLocalStream& s) {
        return msg("ThreadLocalStream(", device_str(s.device), ", ", s.id, ")");
      })
      .def("__eq__", [](const ThreadLocalStream& a, nb::handle b) {
        return nb::isinstance<ThreadLocalStream>(b) && a.id == nb::cast<ThreadLocalStream>(b).id;
      }, nb::sig("def __eq__(self, other: object) -> bool"))
      .def("__hash__", [](const ThreadLocalStream& s) { return s.id; });

  nb::class_<StreamContext>(m, "StreamContext",
                            "Context manager that runs the ops built inside on a stream.")
      .def("__init__",
           [](StreamContext* self, const AnyStream& s) {
             new (self) StreamContext{to_stream(s, "stream"), nullptr};
           },
           "s"_a)
      .def("__enter__", [](StreamContext& c) {
        c.scope = std::make_unique<StreamScope>(c.stream);
      })
      .def("__exit__", [](StreamContext& c, nb::args) { c.scope.reset(); });

  m.def("stream",
        [](const AnyStream& s) { return StreamContext{to_stream(s, "stream"), nullptr}; }, "s"_a,
        "A context manager: `with mx.stream(s):` runs the ops built inside on stream s (or on\n"
        "the default stream of device s), and makes its device the default there. Contexts\n"
        "nest and are per thread.");
  m.def("default_device", &default_device, "The device ops use when none is given.");
  m.def("set_default_device", [](const AnyDevice& d) { set_default_device(to_device(d)); },
        "device"_a, "Sets the process-wide default device (ValueError if it is not available).");
  m.def("is_available", [](const AnyDevice& d) { return is_available(to_device(d)); },
        "device"_a, "True when ember can run on the device (gpu: a GPU backend is built in).");
  m.def("device_count", [](DeviceType t) { return device_count(t); }, "device_type"_a,
        "Number of devices of the type (cpu: 1; gpu: 0 without a GPU backend).");
  m.def("device_info",
        [](std::optional<AnyDevice> d) {
          nb::dict info;
          for (auto& [k, v] : device_info(d ? to_device(*d) : default_device())) {
            bool digits = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
            if (digits) info[k.c_str()] = nb::int_(std::stoll(v));
            else info[k.c_str()] = v;
          }
          return info;
        },
        "d"_a = nb::none(), "Facts about a device (default: the default device) as a dict.");
  m.def("default_stream",
        [](const AnyDevice& d) {
          Device dev = to_device(d);
          check_available(dev, "default_stream");
          return default_stream(dev);
        },
        "device"_a, "The stream ops on the device use by default (on this thread).");
  m.def("set_default_stream", &set_default_stream, "stream"_a,
        "Makes the stream the process-wide default of its device.");
  m.def("new_stream", [](const AnyDevice& d) { return new_stream(to_device(d)); }, "device"_a,
        "A new stream on the device. Work on different streams may run concurrently; within a\n"
        "stream it runs in order. CPU streams run queued work (async_eval) on a thread each.");
  m.def("new_thread_unsafe_stream", [](const AnyDevice& d) { return new_stream(to_device(d)); },
        "device"_a,
        "A new stream that any thread may use (MLX's name for it). ember's streams from\n"
        "new_stream already work from any thread, so this is the same as new_stream.");
  m.def("new_thread_local_stream",
        [](const AnyDevice& d) { return new_thread_local_stream(to_device(d)); }, "device"_a,
        "A stream that is a separate stream on each thread that uses it.");
  m.def("synchronize",
        [](std::optional<AnyStream> s) {
          nb::gil_scoped_release release;
          if (s) synchronize(to_stream(*s, "synchronize"));
          else synchronize();
        },
        "stream"_a = nb::none(),
        "Waits for the work queued on the stream (default: on every stream) to finish.");
  m.def("clear_streams",
        [] {
          nb::gil_scoped_release release;
          clear_streams();
        },
        "Waits for queued work, stops the streams' threads and forgets the streams made with\n"
        "new_stream (the default streams stay).");
  m.def("async_eval",
        [](nb::args args) {
          std::vector<array> outs;
          collect_arrays(args, outs);
          nb::gil_scoped_release release;
          async_eval(std::move(outs));
        },
        "Starts computing the given arrays (or trees of arrays) on their streams' threads and\n"
        "returns at once. A later eval, item(), numpy conversion, print or synchronize waits\n"
        "for the result.");
}

void init_memory(nb::module_& m) {
  auto def_memory = [](nb::module_& mod) {
    mod.def("get_active_memory", &get_active_memory, "Bytes held by live arrays.");
    mod.def("get_peak_memory", &get_peak_memory, "Highest active memory since start or reset.");
    mod.def("reset_peak_memory", &reset_peak_memory,
            "Sets the peak to the current active memory.");
    mod.def("get_cache_memory", &get_cache_memory, "Bytes of freed buffers kept for reuse.");
    mod.def("clear_cache", &clear_cache, "Frees the buffers kept for reuse.");
    mod.def("set_cache_limit", &set_cache_limit, "limit"_a,
            "Caps the reuse cache (bytes); returns the old cap.");
    mod.def("set_memory_limit", &set_memory_limit, "limit"_a,
            "Caps the memory live arrays may hold (bytes); returns the old limit. An allocation\n"
            "that would go past it first empties the reuse cache, then raises MemoryError.");
    mod.def("get_memory_limit", &get_memory_limit, "The memory limit (bytes).");
    mod.def("set_wired_limit", &set_wired_limit, "limit"_a,
            "Records the wired-memory limit (a Metal notion: it changes nothing on the CPU);\n"
            "returns the old value.");
  };
  def_memory(m);
  m.def("get_array_buffer_size",
        [](nb::args args) {
          std::vector<array> arrays;
          collect_arrays(args, arrays);
          std::unordered_set<const Buffer*> seen;
          size_t total = 0;
          for (auto& a : arrays) {
            if (!a.is_evaluated()) {
              throw std::invalid_argument(
                  "[get_array_buffer_size] Arrays must be evaluated before their buffers are "
                  "measured.");
            }
            const BufferPtr& b = a.buffer();
            if (b && seen.insert(b.get()).second) total += b->nbytes();
          }
          return total;
        },
        nb::sig("def get_array_buffer_size(*args) -> int"),
        "Bytes of the buffers behind the given arrays (or trees of arrays), each buffer\n"
        "counted once (views share their base's). Leaves that are not arrays are ignored;\n"
        "the arrays must be evaluated (ValueError otherwise).");
  m.def("get_num_threads", &get_num_threads, "Threads used by ember's kernels.");
  m.def("set_num_threads", &set_num_threads, "n"_a, "Sets ember's kernel threads and BLAS threads.");

  // mx.metal: MLX's Metal namespace. ember has no Metal backend (yet); the memory functions
  // are the allocator's, as MLX's deprecated mx.metal.* versions are.
  nb::module_ metal = m.def_submodule("metal", "Apple GPU (Metal) backend: not built in ember.");
  metal.def("is_available", [] { return std::string(gpu::backend_name()) == "metal"; },
            "True when ember was built with its Metal backend (never, so far).");
  def_memory(metal);
  metal.def("device_info", []() -> nb::dict {
    throw std::invalid_argument("[metal.device_info] This build of ember has no Metal backend.");
  }, "Facts about the Metal device; ValueError without a Metal backend.");
  metal.def("start_capture", [](const std::string&) {
    throw std::invalid_argument("[metal.start_capture] This build of ember has no Metal backend.");
  }, "path"_a, "Starts a Metal capture; ValueError without a Metal backend.");
  metal.def("stop_capture", [] {
    throw std::invalid_argument("[metal.stop_capture] This build of ember has no Metal backend.");
  }, "Stops a Metal capture; ValueError without a Metal backend.");

  nb::module_ cuda = m.def_submodule("cuda", "NVIDIA GPU (CUDA) backend.");
  cuda.def("is_available",
           [] { return std::string(gpu::backend_name()) == "cuda" && gpu::is_available(); },
           "True when ember was built with its CUDA backend and a GPU is present.");
}
