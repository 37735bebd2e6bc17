// The path forms of the save functions: the extension is added when missing (as mlx.core
// does), then the format writes through an atomic file writer.
#include "ember/io/internal.h"

namespace ember {

namespace {

std::string with_extension(std::string path, const char* ext) {
  const size_t n = std::strlen(ext);
  if (path.size() < n || path.compare(path.size() - n, n, ext) != 0) path += ext;
  return path;
}

}  // namespace

void save(std::string path, const array& a) {
  path = with_extension(std::move(path), ".npy");
  io::save_npy(*io::file_writer(path, "save"), a);
}

void savez(std::string path, const NamedArrays& arrays) {
  path = with_extension(std::move(path), ".npz");
  io::save_npz(*io::file_writer(path, "savez"), arrays, false);
}

void savez_compressed(std::string path, const NamedArrays& arrays) {
  path = with_extension(std::move(path), ".npz");
  io::save_npz(*io::file_writer(path, "savez_compressed"), arrays, true);
}

void save_safetensors(std::string path, const NamedArrays& arrays,
                      const StringMetadata& metadata) {
  path = with_extension(std::move(path), ".safetensors");
  io::save_safetensors(*io::file_writer(path, "save_safetensors"), arrays, metadata);
}

void save_gguf(std::string path, const NamedArrays& arrays, const GGUFMetadata& metadata) {
  path = with_extension(std::move(path), ".gguf");
  io::save_gguf(*io::file_writer(path, "save_gguf"), arrays, metadata);
}

}  // namespace ember
