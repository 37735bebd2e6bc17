// The .safetensors format: an 8-byte little-endian header length N, N bytes of JSON
// ({"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
// "__metadata__": {"key": "value"}}), then the data; offsets count from the end of the header.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>

#include "ember/io/internal.h"
#include "ember/io/json.h"

namespace ember::io {

using detail::fail;
using detail::Json;
using detail::JsonError;
using detail::parse_json;

namespace {

const std::pair<const char*, Dtype> kDtypes[] = {
    {"BOOL", Dtype::bool_},   {"U8", Dtype::uint8},      {"U16", Dtype::uint16},
    {"U32", Dtype::uint32},   {"U64", Dtype::uint64},    {"I8", Dtype::int8},
    {"I16", Dtype::int16},    {"I32", Dtype::int32},     {"I64", Dtype::int64},
    {"F16", Dtype::float16},  {"BF16", Dtype::bfloat16}, {"F32", Dtype::float32},
    {"F64", Dtype::float64},  {"C64", Dtype::complex64},
};

// The safetensors specification caps the header at 100 MB.
constexpr uint64_t kMaxHeader = 100'000'000;

int64_t as_size(const Json& v, const Reader& r, const std::string& name, const char* field) {
  if (v.kind != Json::number || !v.integral || v.i < 0) {
    fail("load", r, msg("tensor '", name, "' has a ", field, " that is not a non-negative integer."));
  }
  return v.i;
}

void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  out += '"';
}

}  // namespace

void save_safetensors(Writer& w, const NamedArrays& arrays, const StringMetadata& metadata) {
  std::vector<array> data;
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (size_t i = 0; i < metadata.size(); ++i) {
      if (i) header += ',';
      json_string(header, metadata[i].first);
      header += ':';
      json_string(header, metadata[i].second);
    }
    header += '}';
    first = false;
  }
  uint64_t offset = 0;
  std::set<std::string> names;
  for (size_t i = 0; i < arrays.size(); ++i) {
    const auto& [name, a] = arrays[i];
    if (name == "__metadata__") {
      throw std::invalid_argument("[save_safetensors] '__metadata__' is reserved; it cannot name an array.");
    }
    if (!names.insert(name).second) {
      throw std::invalid_argument(msg("[save_safetensors] The name '", name, "' is given twice."));
    }
    const char* code = nullptr;
    for (auto& [c, t] : kDtypes) {
      if (t == a.dtype()) code = c;
    }
    data.push_back(detail::contiguous(a));
    if (!first) header += ',';
    first = false;
    json_string(header, name);
    header += msg(":{\"dtype\":\"", code, "\",\"shape\":[");
    for (int d = 0; d < a.ndim(); ++d) header += msg(d ? "," : "", a.shape(d));
    header += msg("],\"data_offsets\":[", offset, ",", offset + a.nbytes(), "]}");
    offset += a.nbytes();
  }
  header += '}';
  // Pad with spaces so the data starts 8-byte aligned.
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string head;
  detail::put_le<uint64_t>(head, header.size());
  head += header;
  w.write(head.data(), head.size());
  for (auto& c : data) {
    if (c.nbytes() > 0) w.write(c.raw_data(), c.nbytes());
  }
  w.commit();
}

std::pair<NamedArrays, StringMetadata> load_safetensors(const Reader& r) {
  const char* op = "load";
  if (r.size() < 8) fail(op, r, "not a safetensors file (shorter than its 8-byte header size).");
  const uint64_t n = detail::read_le<uint64_t>(r, 0);
  if (n > kMaxHeader) {
    fail(op, r, msg("the header declares ", n, " bytes, more than the format's 100 MB limit."));
  }
  detail::check_region(op, r, 8, n, "The safetensors header");
  std::string text(n, '\0');
  r.read(8, text.data(), n);
  Json root;
  try {
    root = parse_json(text);
  } catch (const JsonError& e) {
    fail(op, r, msg("the safetensors header is not valid JSON (", e.what(), ")."));
  }
  if (root.kind != Json::object) fail(op, r, "the safetensors header is not a JSON object.");
  const uint64_t base = 8 + n, data_size = r.size() - base;
  std::pair<NamedArrays, StringMetadata> out;
  std::set<std::string> seen;
  struct Described {
    std::string name;
    Shape shape;
    Dtype dtype;
    uint64_t begin;
  };
  std::vector<Described> described;
  std::vector<std::pair<uint64_t, uint64_t>> regions;
  for (auto& [name, v] : root.members) {
    detail::check_utf8(op, r, name, "The tensor name");
    if (name == "__metadata__") {
      if (v.kind != Json::object) fail(op, r, "'__metadata__' is not an object.");
      for (auto& [k, m] : v.members) {
        if (m.kind != Json::string) {
          fail(op, r, msg("metadata '", k, "' is not a string (safetensors metadata maps strings "
                          "to strings)."));
        }
        detail::check_utf8(op, r, k, "The metadata key");
        detail::check_utf8(op, r, m.s, "The metadata value");
        out.second.emplace_back(k, m.s);
      }
      continue;
    }
    if (v.kind != Json::object) fail(op, r, msg("tensor '", name, "' is not described by an object."));
    const Json *dt = nullptr, *shape = nullptr, *offsets = nullptr;
    for (auto& [k, f] : v.members) {
      if (k == "dtype") dt = &f;
      else if (k == "shape") shape = &f;
      else if (k == "data_offsets") offsets = &f;
    }
    if (!dt || !shape || !offsets || dt->kind != Json::string || shape->kind != Json::list ||
        offsets->kind != Json::list || offsets->items.size() != 2) {
      fail(op, r, msg("tensor '", name, "' lacks a valid dtype, shape or data_offsets."));
    }
    std::optional<Dtype> dtype;
    for (auto& [c, t] : kDtypes) {
      if (dt->s == c) dtype = t;
    }
    if (!dtype) fail(op, r, msg("tensor '", name, "' has dtype '", detail::printable(dt->s), "', which ember does not support."));
    if (shape->items.size() > 64) fail(op, r, msg("tensor '", name, "' has too many dimensions."));
    Shape s;
    for (auto& d : shape->items) s.push_back(as_size(d, r, name, "dimension"));
    const int64_t begin = as_size(offsets->items[0], r, name, "data offset");
    const int64_t end = as_size(offsets->items[1], r, name, "data offset");
    if (end < begin || uint64_t(end) > data_size) {
      fail(op, r, msg("tensor '", name, "' has data offsets [", begin, ", ", end, "] outside the ",
                      data_size, " bytes of data (truncated or corrupt)."));
    }
    int64_t count;
    try {
      count = shape_size(s, op);
    } catch (const std::invalid_argument&) {
      fail(op, r, msg("tensor '", name, "' declares shape ", s, ", which no array can have."));
    }
    if (uint64_t(end - begin) != uint64_t(count) * size_of(*dtype)) {
      fail(op, r, msg("tensor '", name, "' of shape ", s, " and dtype ", dt->s, " needs ",
                      uint64_t(count) * size_of(*dtype), " bytes but its data_offsets span ",
                      end - begin, "."));
    }
    if (!seen.insert(name).second) fail(op, r, msg("tensor '", name, "' appears twice."));
    regions.emplace_back(uint64_t(begin), uint64_t(end));
    described.push_back({name, s, *dtype, uint64_t(begin)});
  }
  detail::check_disjoint(op, r, regions);
  for (auto& d : described) {
    out.first.emplace_back(d.name,
                           detail::read_array(op, r, base + d.begin, d.shape, d.dtype, d.name));
  }
  return out;
}

}  // namespace ember::io
