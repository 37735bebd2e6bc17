// The stand-in GPU backend of a CPU-only build: no devices, and a clear error for anything
// that would need one (callers check is_available first, so these are never reached by
// correct use).
#include <stdexcept>

#include "ember/backend/gpu/gpu.h"

namespace ember::gpu {

bool is_available() { return false; }
int device_count() { return 0; }
std::vector<std::pair<std::string, std::string>> device_info(int) { return {}; }
void new_stream(const Stream&) {
  throw std::invalid_argument("[new_stream] This build of ember has no GPU backend.");
}
void synchronize(const Stream&) {}
const char* backend_name() { return ""; }

}  // namespace ember::gpu
