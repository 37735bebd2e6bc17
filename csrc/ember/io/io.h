// Saving and loading arrays: .npy and .npz (numpy), .safetensors and .gguf.
// Every save writes to a temporary file next to the target and renames it over the target
// only once complete, so a failed or interrupted save never leaves a truncated file in place
// of a good one. Every load checks each declared size, offset and dtype against the bytes
// actually present before it allocates anything: a truncated, corrupt or hostile file is a
// std::invalid_argument (Python: ValueError) naming the function and the file, never a
// crash or an allocation of a size the file only claims.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ember/api.h"
#include "ember/array.h"

namespace ember {

/// Arrays by name, in file (or insertion) order.
using NamedArrays = std::vector<std::pair<std::string, array>>;
/// A GGUF metadata value: an array (0-d for a scalar), a string, or a list of strings.
using GGUFValue = std::variant<array, std::string, std::vector<std::string>>;
using GGUFMetadata = std::vector<std::pair<std::string, GGUFValue>>;
using StringMetadata = std::vector<std::pair<std::string, std::string>>;

namespace io {

/// Where saved bytes go (a file, memory, a Python file object).
class EMBER_API Writer {
 public:
  virtual ~Writer() = default;
  virtual void write(const void* data, size_t n) = 0;
  /// Called once everything is written; a file writer renames its temporary file here.
  virtual void commit() {}
};

/// Bytes to load from, read at offsets; reading past the end throws (the file is truncated).
class EMBER_API Reader {
 public:
  virtual ~Reader() = default;
  virtual uint64_t size() const = 0;
  /// Copies n bytes at offset into dst; std::invalid_argument if they are not all there.
  virtual void read(uint64_t offset, void* dst, size_t n) const = 0;
  /// The file's name, for messages.
  virtual const std::string& label() const = 0;
};

/// Writes to `path` atomically: a temporary file in the same folder, renamed on commit;
/// removed again if destroyed before commit.
EMBER_API std::unique_ptr<Writer> file_writer(const std::string& path, const char* op);
/// Appends to a string.
EMBER_API std::unique_ptr<Writer> memory_writer(std::string& out);
/// Reads a file (std::invalid_argument naming op when it cannot be opened).
EMBER_API std::unique_ptr<Reader> file_reader(const std::string& path, const char* op);
/// Reads from bytes the caller keeps alive.
EMBER_API std::unique_ptr<Reader> memory_reader(const void* data, size_t n, std::string label);

EMBER_API void save_npy(Writer& w, const array& a);
EMBER_API array load_npy(const Reader& r);
/// A zip of name.npy entries; stored, or deflated when compressed (needs zlib).
EMBER_API void save_npz(Writer& w, const NamedArrays& arrays, bool compressed);
EMBER_API NamedArrays load_npz(const Reader& r);
EMBER_API void save_safetensors(Writer& w, const NamedArrays& arrays,
                                const StringMetadata& metadata);
EMBER_API std::pair<NamedArrays, StringMetadata> load_safetensors(const Reader& r);
EMBER_API void save_gguf(Writer& w, const NamedArrays& arrays, const GGUFMetadata& metadata);
EMBER_API std::pair<NamedArrays, GGUFMetadata> load_gguf(const Reader& r);

/// Whether savez_compressed and deflated .npz entries are available (built with zlib).
EMBER_API bool has_deflate();

}  // namespace io

// Path forms, as mlx.core names them (the extension is added when missing).
/// Saves one array as .npy.
EMBER_API void save(std::string path, const array& a);
/// Saves arrays as an uncompressed .npz.
EMBER_API void savez(std::string path, const NamedArrays& arrays);
/// Saves arrays as a deflate-compressed .npz.
EMBER_API void savez_compressed(std::string path, const NamedArrays& arrays);
EMBER_API void save_safetensors(std::string path, const NamedArrays& arrays,
                                const StringMetadata& metadata = {});
EMBER_API void save_gguf(std::string path, const NamedArrays& arrays,
                         const GGUFMetadata& metadata = {});

}  // namespace ember
