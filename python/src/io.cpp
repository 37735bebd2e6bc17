// Bindings of saving and loading: mx.save, savez, savez_compressed, save_safetensors,
// save_gguf and load, with mlx.core's signatures. A file is a path (str or os.PathLike) or a
// binary file object (write / read); the formats themselves are C++ (csrc/ember/io).
#include <nanobind/stl/pair.h>

#include "bindings.h"
#include "convert.h"
#include "ember/errors.h"

using namespace ember;
using namespace ember::py;
using namespace nb::literals;

namespace {

bool is_path(nb::handle f) {
  return nb::isinstance<nb::str>(f) || nb::hasattr(f, "__fspath__");
}

std::string path_of(nb::handle f) {
  return nb::cast<std::string>(nb::module_::import_("os").attr("fsdecode")(f));
}

// Forwards bytes to a Python file object's write().
class PyWriter : public io::Writer {
 public:
  explicit PyWriter(nb::handle file) : write_(file.attr("write")) {}
  void write(const void* data, size_t n) override {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const size_t k = std::min<size_t>(n, size_t(64) << 20);
      write_(nb::bytes(p, k));
      p += k;
      n -= k;
    }
  }

 private:
  nb::object write_;
};

// Evaluates what will be written first, without the GIL; the writers then only copy bytes.
void eval_all(const NamedArrays& arrays) {
  std::vector<array> all;
  for (auto& [name, a] : arrays) all.push_back(a);
  without_gil([&] { eval(all); });
}

template <typename Save>
void save_to(nb::handle file, const char* op, const char* ext, Save&& save) {
  if (is_path(file)) {
    std::string path = path_of(file);
    const size_t n = std::strlen(ext);
    if (path.size() < n || path.compare(path.size() - n, n, ext) != 0) path += ext;
    auto w = io::file_writer(path, op);
    save(*w);
  } else if (nb::hasattr(file, "write")) {
    PyWriter w(file);
    save(w);
  } else {
    throw nb::type_error(msg("[", op, "] file must be a path or a binary file object, got ",
                             nb::type_name(file.type()).c_str(), ".").c_str());
  }
}

NamedArrays to_named(nb::handle arrays, const char* op) {
  if (!nb::isinstance<nb::dict>(arrays)) {
    throw nb::type_error(msg("[", op, "] arrays must be a dict of names to arrays, got ",
                             nb::type_name(arrays.type()).c_str(), ".").c_str());
  }
  NamedArrays out;
  for (auto [k, v] : nb::borrow<nb::dict>(arrays)) {
    if (!nb::isinstance<nb::str>(k)) {
      throw nb::type_error(msg("[", op, "] Array names must be str, got ",
                               nb::type_name(k.type()).c_str(), ".").c_str());
    }
    out.emplace_back(nb::cast<std::string>(k), to_array(v));
  }
  return out;
}

std::string format_of(nb::handle file, const std::optional<std::string>& format) {
  if (format) return *format;
  std::string name;
  if (is_path(file)) name = path_of(file);
  else if (nb::hasattr(file, "name")) name = nb::cast<std::string>(nb::str(file.attr("name")));
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || name.find('/', dot) != std::string::npos) {
    throw std::invalid_argument(msg("[load] Cannot tell the format of '", name,
                                    "' from its extension; pass format='npy', 'npz', "
                                    "'safetensors' or 'gguf'."));
  }
  return name.substr(dot + 1);
}

nb::dict to_dict(const NamedArrays& arrays) {
  nb::dict d;
  for (auto& [k, a] : arrays) d[nb::str(k.c_str())] = nb::cast(a);
  return d;
}

}  // namespace

void init_io(nb::module_& m) {
  m.def("save", [](PathArg file, ArrayArg arr) {
    array a = to_array(arr);
    without_gil([&] { a.eval(); });
    save_to(file, "save", ".npy", [&](io::Writer& w) { io::save_npy(w, a); });
  }, "file"_a, "arr"_a,
     "Saves an array to a .npy file (the extension is added when missing). The file is\n"
     "written to a temporary name and renamed into place once complete.\n\n"
     "Args:\n    file: a path or a binary file object.\n    arr: the array.");
  auto savez_impl = [](bool compressed) {
    return [compressed](PathArg file, nb::args args, nb::kwargs kwargs) {
      const char* op = compressed ? "savez_compressed" : "savez";
      NamedArrays arrays;
      for (size_t i = 0; i < args.size(); ++i) {
        arrays.emplace_back("arr_" + std::to_string(i), to_array(args[i]));
      }
      for (auto [k, v] : kwargs) arrays.emplace_back(nb::cast<std::string>(k), to_array(v));
      eval_all(arrays);
      save_to(file, op, ".npz", [&](io::Writer& w) { io::save_npz(w, arrays, compressed); });
    };
  };
  m.def("savez", savez_impl(false), "file"_a, "args"_a, "kwargs"_a,
        "Saves arrays to an uncompressed .npz file: positional arrays as arr_0, arr_1, ...,\n"
        "keyword arrays under their names (numpy.savez).");
  m.def("savez_compressed", savez_impl(true), "file"_a, "args"_a, "kwargs"_a,
        "Like savez, with each entry deflate-compressed (numpy.savez_compressed).");
  m.def("save_safetensors", [](PathArg file, NamedArraysArg arrays, MappingArg metadata) {
    NamedArrays named = to_named(arrays, "save_safetensors");
    StringMetadata meta;
    if (!metadata.is_none()) {
      if (!nb::isinstance<nb::dict>(metadata)) {
        throw nb::type_error("[save_safetensors] metadata must be a dict of str to str.");
      }
      for (auto [k, v] : nb::borrow<nb::dict>(metadata)) {
        if (!nb::isinstance<nb::str>(k) || !nb::isinstance<nb::str>(v)) {
          throw nb::type_error("[save_safetensors] metadata must map str to str.");
        }
        meta.emplace_back(nb::cast<std::string>(k), nb::cast<std::string>(v));
      }
    }
    eval_all(named);
    save_to(file, "save_safetensors", ".safetensors",
            [&](io::Writer& w) { io::save_safetensors(w, named, meta); });
  }, "file"_a, "arrays"_a, "metadata"_a = nb::none(),
     "Saves a dict of arrays to a .safetensors file, with optional str -> str metadata.");
  m.def("save_gguf", [](PathArg file, NamedArraysArg arrays, MappingArg metadata) {
    NamedArrays named = to_named(arrays, "save_gguf");
    GGUFMetadata meta;
    if (!metadata.is_none()) {
      if (!nb::isinstance<nb::dict>(metadata)) {
        throw nb::type_error("[save_gguf] metadata must be a dict.");
      }
      for (auto [k, v] : nb::borrow<nb::dict>(metadata)) {
        std::string key = nb::cast<std::string>(nb::str(k));
        if (nb::isinstance<nb::str>(v)) {
          meta.emplace_back(key, nb::cast<std::string>(v));
        } else if (nb::isinstance<nb::list>(v) && nb::len(v) > 0 &&
                   nb::isinstance<nb::str>(nb::borrow<nb::list>(v)[0])) {
          std::vector<std::string> list;
          for (auto item : v) {
            if (!nb::isinstance<nb::str>(item)) {
              throw nb::type_error(msg("[save_gguf] Metadata '", key,
                                       "' mixes strings with other values.").c_str());
            }
            list.push_back(nb::cast<std::string>(item));
          }
          meta.emplace_back(key, std::move(list));
        } else if (nb::isinstance<array>(v) || is_python_scalar(v)) {
          array a = to_array(v);
          without_gil([&] { a.eval(); });
          meta.emplace_back(key, a);
        } else {
          throw nb::type_error(msg("[save_gguf] Metadata '", key, "' must be an array, a str or ",
                                   "a list of str, got ", nb::type_name(v.type()).c_str(), ".")
                                   .c_str());
        }
      }
    }
    eval_all(named);
    save_to(file, "save_gguf", ".gguf", [&](io::Writer& w) { io::save_gguf(w, named, meta); });
  }, "file"_a, "arrays"_a, "metadata"_a = nb::none(),
     "Saves a dict of arrays to a .gguf file; metadata values are arrays, str or list of str.");
  m.def("load", [](PathArg file, std::optional<std::string> format, bool return_metadata,
                   StreamOrDevice /*stream: loading runs on the CPU*/)
                    -> TypedObject<arg_type::LoadResult> {
    const std::string fmt = format_of(file, format);
    if (fmt != "npy" && fmt != "npz" && fmt != "safetensors" && fmt != "gguf") {
      throw std::invalid_argument(msg("[load] Unknown format '", fmt,
                                      "' (ember reads npy, npz, safetensors and gguf)."));
    }
    if (return_metadata && (fmt == "npy" || fmt == "npz")) {
      throw std::invalid_argument(msg("[load] return_metadata is only for safetensors and gguf, ",
                                      "not ", fmt, "."));
    }
    std::unique_ptr<io::Reader> reader;
    nb::bytes content;  // keeps a file object's bytes alive while reading
    if (is_path(file)) {
      std::string path = path_of(file);
      if (!nb::cast<bool>(nb::module_::import_("os").attr("path").attr("exists")(path))) {
        PyErr_SetString(PyExc_FileNotFoundError, msg("[load] No such file: '", path, "'.").c_str());
        throw nb::python_error();
      }
      reader = io::file_reader(path, "load");
    } else if (nb::hasattr(file, "read")) {
      nb::object data = file.attr("read")();
      if (!nb::isinstance<nb::bytes>(data)) {
        throw nb::type_error("[load] The file object must be opened in binary mode.");
      }
      content = nb::borrow<nb::bytes>(data);
      std::string label = nb::hasattr(file, "name") ? nb::cast<std::string>(nb::str(file.attr("name")))
                                                    : std::string("<file object>");
      reader = io::memory_reader(content.c_str(), content.size(), label);
    } else {
      throw nb::type_error(msg("[load] file must be a path or a binary file object, got ",
                               nb::type_name(file.type()).c_str(), ".").c_str());
    }
    if (fmt == "npy") {
      array a;
      without_gil([&] { a = io::load_npy(*reader); });
      return nb::cast(a);
    }
    if (fmt == "npz") {
      NamedArrays arrays;
      without_gil([&] { arrays = io::load_npz(*reader); });
      return to_dict(arrays);
    }
    if (fmt == "safetensors") {
      std::pair<NamedArrays, StringMetadata> res;
      without_gil([&] { res = io::load_safetensors(*reader); });
      if (!return_metadata) return to_dict(res.first);
      nb::dict meta;
      for (auto& [k, v] : res.second) meta[nb::str(k.c_str())] = nb::str(v.c_str());
      return nb::make_tuple(to_dict(res.first), meta);
    }
    std::pair<NamedArrays, GGUFMetadata> res;
    without_gil([&] { res = io::load_gguf(*reader); });
    if (!return_metadata) return to_dict(res.first);
    nb::dict meta;
    for (auto& [k, v] : res.second) {
      if (auto* a = std::get_if<array>(&v)) meta[nb::str(k.c_str())] = nb::cast(*a);
      else if (auto* s = std::get_if<std::string>(&v)) meta[nb::str(k.c_str())] = nb::str(s->c_str());
      else {
        nb::list l;
        for (auto& s : std::get<std::vector<std::string>>(v)) l.append(nb::str(s.c_str()));
        meta[nb::str(k.c_str())] = l;
      }
    }
    return nb::make_tuple(to_dict(res.first), meta);
  }, "file"_a, "format"_a = nb::none(), "return_metadata"_a = false,
     nb::kw_only(), "stream"_a = nb::none(),
     "Loads arrays from a .npy (an array), .npz, .safetensors or .gguf file (a dict of\n"
     "arrays); the format comes from the extension unless given. return_metadata=True also\n"
     "returns the metadata of safetensors (str -> str) and gguf files. A truncated, corrupt\n"
     "or hostile file is a ValueError; nothing is allocated beyond what the file holds.");
}
