// What a GPU backend (backend/cuda/, later backend/metal/) provides to the device-independent
// engine. A CPU-only build links backend/no_gpu/, which reports no device and refuses the rest;
// CMake picks exactly one implementation (EMBER_CUDA=ON: backend/cuda/).
//
// Kernels themselves are Primitive::eval_gpu overrides, which the backend defines in its own
// files (backend/cuda/<family>.cu); in a CPU-only build every eval_gpu is the default that
// says there is no GPU kernel. Buffers of GPU arrays come from the backend's allocator.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ember/api.h"
#include "ember/device.h"

namespace ember::gpu {

/// True when a GPU backend is built in and at least one device is present.
EMBER_API bool is_available();
/// Number of GPUs visible to the backend (0 without one).
EMBER_API int device_count();
/// Facts about GPU `index` (name, architecture, memory size), as key/value text.
EMBER_API std::vector<std::pair<std::string, std::string>> device_info(int index);
/// Creates the backend's queue for a new stream on a GPU device.
EMBER_API void new_stream(const Stream& s);
/// Waits until the work enqueued on GPU stream `s` has finished.
EMBER_API void synchronize(const Stream& s);
/// The backend's name ("cuda", "metal") or "" without one.
EMBER_API const char* backend_name();

}  // namespace ember::gpu
