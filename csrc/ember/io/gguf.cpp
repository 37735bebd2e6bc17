// The GGUF format (llama.cpp's): "GGUF", a version (2 or 3), tensor and metadata counts,
// the metadata key/values, the tensor descriptions (name, dims innermost first, ggml type,
// offset), then the data section at the next multiple of general.alignment (default 32).
// ember reads and writes the unquantized types (F32, F16, BF16, F64, I8-I64); a quantized
// tensor is a clear error. Metadata: numbers and bools become arrays (0-d for one value,
// 1-d for an array), strings str, string arrays lists of str.
#include <algorithm>
#include <optional>
#include <set>

#include "ember/io/internal.h"

namespace ember::io {

using detail::fail;
using detail::put_le;

namespace {

enum ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};

std::optional<Dtype> value_dtype(uint32_t t) {
  switch (t) {
    case kU8: return Dtype::uint8;
    case kI8: return Dtype::int8;
    case kU16: return Dtype::uint16;
    case kI16: return Dtype::int16;
    case kU32: return Dtype::uint32;
    case kI32: return Dtype::int32;
    case kF32: return Dtype::float32;
    case kBool: return Dtype::bool_;
    case kU64: return Dtype::uint64;
    case kI64: return Dtype::int64;
    case kF64: return Dtype::float64;
  }
  return std::nullopt;
}

std::optional<uint32_t> value_type(Dtype t) {
  switch (t) {
    case Dtype::uint8: return kU8;
    case Dtype::int8: return kI8;
    case Dtype::uint16: return kU16;
    case Dtype::int16: return kI16;
    case Dtype::uint32: return kU32;
    case Dtype::int32: return kI32;
    case Dtype::float32: return kF32;
    case Dtype::bool_: return kBool;
    case Dtype::uint64: return kU64;
    case Dtype::int64: return kI64;
    case Dtype::float64: return kF64;
    default: return std::nullopt;
  }
}

// ggml tensor types ember reads and writes.
const std::pair<uint32_t, Dtype> kTensorTypes[] = {
    {0, Dtype::float32}, {1, Dtype::float16}, {24, Dtype::int8},   {25, Dtype::int16},
    {26, Dtype::int32},  {27, Dtype::int64},  {28, Dtype::float64}, {30, Dtype::bfloat16},
};

// A cursor over the reader; every read is bounds-checked by the reader.
struct Cursor {
  const Reader& r;
  uint64_t p = 0;
  template <typename T>
  T get() {
    T v = detail::read_le<T>(r, p);
    p += sizeof(T);
    return v;
  }
  std::string str() {
    const uint64_t n = get<uint64_t>();
    detail::check_region("load", r, p, n, "A GGUF string");
    std::string s(n, '\0');
    r.read(p, s.data(), n);
    p += n;
    return s;
  }
};

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

std::pair<NamedArrays, GGUFMetadata> load_gguf(const Reader& r) {
  const char* op = "load";
  Cursor c{r};
  char magic[4];
  if (r.size() < 24) fail(op, r, "not a GGUF file (too short).");
  r.read(0, magic, 4);
  if (std::memcmp(magic, "GGUF", 4) != 0) fail(op, r, "not a GGUF file (bad magic).");
  c.p = 4;
  const uint32_t version = c.get<uint32_t>();
  if (version != 2 && version != 3) fail(op, r, msg("GGUF version ", version, " is not supported."));
  const uint64_t n_tensors = c.get<uint64_t>(), n_kv = c.get<uint64_t>();
  // Every entry takes at least 8 bytes of file: larger counts are lies (no loop runs long).
  if (n_tensors > r.size() / 8 || n_kv > r.size() / 8) fail(op, r, "the GGUF counts are corrupt.");
  std::pair<NamedArrays, GGUFMetadata> out;
  uint64_t alignment = 32;
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.str();
    detail::check_utf8(op, r, key, "The metadata key");
    const uint32_t type = c.get<uint32_t>();
    if (type == kString) {
      std::string v = c.str();
      detail::check_utf8(op, r, v, "The metadata string");
      out.second.emplace_back(key, std::move(v));
    } else if (type == kArray) {
      const uint32_t et = c.get<uint32_t>();
      const uint64_t count = c.get<uint64_t>();
      if (et == kString) {
        if (count > (r.size() - c.p) / 8) fail(op, r, msg("metadata '", key, "' is truncated."));
        std::vector<std::string> list;
        for (uint64_t k = 0; k < count; ++k) {
          list.push_back(c.str());
          detail::check_utf8(op, r, list.back(), "The metadata string");
        }
        out.second.emplace_back(key, std::move(list));
      } else if (auto dt = value_dtype(et)) {
        if (count > kMaxArraySize) fail(op, r, msg("metadata '", key, "' is corrupt."));
        array a = detail::read_array(op, r, c.p, Shape{int64_t(count)}, *dt, key);
        c.p += uint64_t(count) * size_of(*dt);
        out.second.emplace_back(key, a);
      } else {
        fail(op, r, msg("metadata '", key, "' is an array of type ", et,
                        " (nested arrays are not supported)."));
      }
    } else if (auto dt = value_dtype(type)) {
      array a = detail::read_array(op, r, c.p, Shape{}, *dt, key);
      c.p += size_of(*dt);
      if (key == "general.alignment") {
        if (type != kU32) fail(op, r, "general.alignment is not a uint32.");
        alignment = a.item<uint32_t>();
        if (alignment == 0 || alignment > (1u << 20) || (alignment & (alignment - 1)) != 0) {
          fail(op, r, msg("general.alignment ", alignment, " is not a power of two."));
        }
      }
      out.second.emplace_back(key, a);
    } else {
      fail(op, r, msg("metadata '", key, "' has unknown type ", type, "."));
    }
  }
  struct Info {
    std::string name;
    Shape shape;
    Dtype dtype;
    uint64_t offset;
  };
  std::vector<Info> infos;
  std::set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    Info t;
    t.name = c.str();
    detail::check_utf8(op, r, t.name, "The tensor name");
    const uint32_t ndim = c.get<uint32_t>();
    if (ndim > 16) fail(op, r, msg("tensor '", t.name, "' declares ", ndim, " dimensions."));
    std::vector<uint64_t> dims(ndim);
    for (auto& d : dims) d = c.get<uint64_t>();
    // ggml lists dimensions innermost first.
    for (auto it = dims.rbegin(); it != dims.rend(); ++it) {
      if (*it > uint64_t(kMaxArraySize)) {
        fail(op, r, msg("tensor '", t.name, "' declares a dimension of ", *it, "."));
      }
      t.shape.push_back(int64_t(*it));
    }
    const uint32_t type = c.get<uint32_t>();
    std::optional<Dtype> dt;
    for (auto& [code, d] : kTensorTypes) {
      if (code == type) dt = d;
    }
    if (!dt) {
      fail(op, r, msg("tensor '", t.name, "' has ggml type ", type, ", which ember cannot load ",
                      "(quantized types are not supported; F32, F16, BF16, F64, I8-I64 are)."));
    }
    t.dtype = *dt;
    t.offset = c.get<uint64_t>();
    if (!names.insert(t.name).second) fail(op, r, msg("tensor '", t.name, "' appears twice."));
    infos.push_back(std::move(t));
  }
  const uint64_t data = align_up(c.p, alignment);
  std::vector<std::pair<uint64_t, uint64_t>> regions;
  for (auto& t : infos) {
    int64_t n;
    try {
      n = shape_size(t.shape, op);
    } catch (const std::invalid_argument&) {
      fail(op, r, msg("tensor '", t.name, "' declares shape ", t.shape, ", which no array can have."));
    }
    const uint64_t nbytes = uint64_t(n) * size_of(t.dtype);
    if (t.offset > r.size() || data > r.size() - t.offset) {
      fail(op, r, msg("tensor '", t.name, "' has offset ", t.offset, " past the end of the file."));
    }
    regions.emplace_back(data + t.offset, data + t.offset + nbytes);
  }
  detail::check_disjoint(op, r, regions);
  for (auto& t : infos) {
    out.first.emplace_back(t.name,
                           detail::read_array(op, r, data + t.offset, t.shape, t.dtype, t.name));
  }
  return out;
}

void save_gguf(Writer& w, const NamedArrays& arrays, const GGUFMetadata& metadata) {
  const char* op = "save_gguf";
  auto put_str = [](std::string& s, const std::string& v) {
    put_le<uint64_t>(s, v.size());
    s += v;
  };
  std::string head = "GGUF";
  put_le<uint32_t>(head, 3);
  put_le<uint64_t>(head, arrays.size());
  put_le<uint64_t>(head, metadata.size());
  for (auto& [key, value] : metadata) {
    put_str(head, key);
    if (auto* s = std::get_if<std::string>(&value)) {
      put_le<uint32_t>(head, kString);
      put_str(head, *s);
    } else if (auto* list = std::get_if<std::vector<std::string>>(&value)) {
      put_le<uint32_t>(head, kArray);
      put_le<uint32_t>(head, kString);
      put_le<uint64_t>(head, list->size());
      for (auto& s : *list) put_str(head, s);
    } else {
      const array& a = std::get<array>(value);
      auto t = value_type(a.dtype());
      if (!t) {
        throw type_error(msg("[", op, "] Metadata '", key, "' has dtype ", dtype_name(a.dtype()),
                             ", which GGUF cannot store."));
      }
      if (a.ndim() > 1) {
        throw std::invalid_argument(msg("[", op, "] Metadata '", key, "' must be a scalar or a ",
                                        "1-d array, got shape ", a.shape(), "."));
      }
      array x = detail::contiguous(a);
      if (a.ndim() == 1) {
        put_le<uint32_t>(head, kArray);
        put_le<uint32_t>(head, *t);
        put_le<uint64_t>(head, uint64_t(a.size()));
      } else {
        put_le<uint32_t>(head, *t);
      }
      head.append(static_cast<const char*>(x.raw_data()), x.nbytes());
    }
  }
  std::vector<array> data;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (auto& [name, a] : arrays) {
    if (!names.insert(name).second) {
      throw std::invalid_argument(msg("[", op, "] The name '", name, "' is given twice."));
    }
    std::optional<uint32_t> type;
    for (auto& [code, d] : kTensorTypes) {
      if (d == a.dtype()) type = code;
    }
    if (!type) {
      throw type_error(msg("[", op, "] Array '", name, "' has dtype ", dtype_name(a.dtype()),
                           ", which GGUF cannot store (it has float32/16, bfloat16, float64 and ",
                           "signed integers)."));
    }
    put_str(head, name);
    put_le<uint32_t>(head, uint32_t(std::max(a.ndim(), 1)));
    if (a.ndim() == 0) put_le<uint64_t>(head, 1);
    for (int d = a.ndim() - 1; d >= 0; --d) put_le<uint64_t>(head, uint64_t(a.shape(d)));
    put_le<uint32_t>(head, *type);
    put_le<uint64_t>(head, offset);
    data.push_back(detail::contiguous(a));
    offset = align_up(offset + a.nbytes(), 32);
  }
  head.append(align_up(head.size(), 32) - head.size(), '\0');
  w.write(head.data(), head.size());
  uint64_t written = 0;
  static const char zeros[32] = {};
  for (auto& x : data) {
    if (x.nbytes() > 0) w.write(x.raw_data(), x.nbytes());
    written += x.nbytes();
    const uint64_t pad = align_up(written, 32) - written;
    w.write(zeros, pad);
    written += pad;
  }
  w.commit();
}

}  // namespace ember::io
