// The stand-in GPU backend of a CPU-only build: no devices, and a clear error for anything
// that would need one (callers check is_available first, so the throwing functions are never
// reached by correct use: no GPU stream, and so no GPU node or buffer, can exist).
#include <stdexcept>

#include "ember/array.h"
#include "ember/backend/gpu/gpu.h"

namespace ember::gpu {

namespace {
[[noreturn]] void no_backend(const char* what) {
  throw std::invalid_argument(std::string("[") + what + "] This build of ember has no GPU backend.");
}
}  // namespace

bool is_available() { return false; }
int device_count() { return 0; }
std::vector<std::pair<std::string, std::string>> device_info(int) { return {}; }
void new_stream(const Stream&) { no_backend("new_stream"); }
void synchronize(const Stream&) {}
void synchronize_all() {}
void check_result(const array&) {}
const char* backend_name() { return ""; }

void retain(const Stream&, const std::vector<array>&, const std::vector<array>&) {}
void eval_on_host(Primitive&, const std::vector<array>&, std::vector<array>&) {
  no_backend("eval_gpu");
}

void* alloc(size_t&, int, int) { no_backend("malloc"); }
void free(void*, size_t, int, int, size_t) {}
size_t cached_bytes() { return 0; }
void trim_cache(size_t) {}
void clear_cache() {}
size_t total_memory() { return 0; }
void* make_host_mirror(const Buffer&) { no_backend("copy to host"); }
array copy_from_device(const void*, const Shape&, Dtype, int) { no_backend("from_dlpack"); }

}  // namespace ember::gpu
