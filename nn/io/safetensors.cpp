#include "ctdl/nn/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "ctdl/nn/io/atomic_file.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn {

static_assert(
    std::endian::native == std::endian::little,
    "safetensors stores little-endian data; a big-endian host would need byte swaps here");

namespace {

using nlohmann::json;

// Headers above this size are refused, as the reference implementation does.
constexpr uint64_t kMaxHeader = 100'000'000;

const char* dtype_code(DType t) {
  switch (t) {
    case DType::Bool:
      return "BOOL";
    case DType::Int64:
      return "I64";
    case DType::Float32:
      return "F32";
    case DType::Float64:
      return "F64";
  }
  return "?";
}

bool dtype_from_code(const std::string& code, DType* out) {
  for (DType t : {DType::Bool, DType::Int64, DType::Float32, DType::Float64})
    if (code == dtype_code(t)) return *out = t, true;
  return false;
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const Metadata& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> host;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    CTDL_CHECK(t.defined(), "save_safetensors: '", name, "' is an undefined tensor");
    CTDL_CHECK(name != "__metadata__" && names.insert(name).second, "save_safetensors: the name '",
               name, "' is ", name == "__metadata__" ? "reserved" : "used twice");
    Tensor h = t.detach().to(Device::cpu()).contiguous();
    uint64_t bytes = static_cast<uint64_t>(h.numel()) * element_size(h.dtype());
    header[name] = {{"dtype", dtype_code(h.dtype())},
                    {"shape", h.shape().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    host.push_back(h);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  uint64_t n = text.size();
  AtomicFile file(path);
  file.write(&n, 8);
  file.write(text.data(), text.size());
  for (const Tensor& h : host)
    file.write(h.raw_data(), static_cast<size_t>(h.numel()) * element_size(h.dtype()));
  file.commit();
}

Safetensors load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  CTDL_CHECK(in.good(), "load_safetensors: cannot open '", path, "': ", std::strerror(errno));
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  CTDL_CHECK(size >= 8, "load_safetensors: ", path, ": truncated: ", size,
             " bytes, shorter than the 8-byte "
             "header length at offset 0");
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  CTDL_CHECK(n <= size - 8, "load_safetensors: ", path, ": the header length at offset 0 says ", n,
             " bytes, but only ", size - 8, " follow (truncated, or not a safetensors file)");
  CTDL_CHECK(n <= kMaxHeader, "load_safetensors: ", path, ": the header length at offset 0 (", n,
             " bytes) is above the limit of ", kMaxHeader);
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  CTDL_CHECK(in.good(), "load_safetensors: ", path, ": reading the header failed");
  json header;
  try {
    header = json::parse(text);
  } catch (const json::parse_error& e) {
    fail("load_safetensors: ", path, ": the JSON header is invalid near offset ",
         8 + (e.byte ? e.byte - 1 : 0), ": ", e.what());
  }
  CTDL_CHECK(header.is_object(), "load_safetensors: ", path,
             ": the header at offset 8 is not a JSON object");
  const uint64_t data_start = 8 + n, data_size = size - data_start;

  Safetensors out;
  struct Entry {
    std::string name;
    DType dtype;
    Dims shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      CTDL_CHECK(value.is_object(), "load_safetensors: ", path,
                 ": __metadata__ must be an object of strings");
      for (const auto& [k, v] : value.items()) {
        CTDL_CHECK(v.is_string(), "load_safetensors: ", path, ": metadata '", k,
                   "' is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& why) {
      fail("load_safetensors: ", path, ": tensor '", name, "' in the header (offset 8): ", why);
    };
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") ||
        !value.contains("data_offsets"))
      bad("expected {\"dtype\", \"shape\", \"data_offsets\"}");
    Entry e{name, DType::Float32, {}, 0, 0};
    const json& dt = value["dtype"];
    if (!dt.is_string() || !dtype_from_code(dt.get<std::string>(), &e.dtype))
      bad(str("unsupported dtype ", dt.dump(), " (ctdl reads BOOL, I64, F32 and F64)"));
    const json& shape = value["shape"];
    if (!shape.is_array() || shape.size() > static_cast<size_t>(Dims::kMaxDims))
      bad("shape must be an array of at most 8 sizes");
    uint64_t count = 1;
    for (const json& d : shape) {
      if (!d.is_number_unsigned())
        bad(str("shape ", shape.dump(), " has a size that is not a non-negative integer"));
      uint64_t v = d.get<uint64_t>();
      if (v != 0 && count > data_size / v)
        bad(str("shape ", shape.dump(), " holds more data than the file"));
      count *= v;
      e.shape.push_back(static_cast<int64_t>(v));
    }
    const json& off = value["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
        !off[1].is_number_unsigned())
      bad("data_offsets must be [begin, end]");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size)
      bad(str("data_offsets [", e.begin, ", ", e.end, "] (file offsets ", data_start + e.begin,
              " to ", data_start + e.end, ") are not within the ", data_size,
              " data bytes; the file is truncated or corrupt"));
    uint64_t expected = count * element_size(e.dtype);
    if (e.end - e.begin != expected)
      bad(str("data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin, " bytes but ",
              dt.get<std::string>(), " ", e.shape, " needs ", expected));
    entries.push_back(e);
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < entries.size(); ++i)
    CTDL_CHECK(entries[i].begin >= entries[i - 1].end || entries[i].begin == entries[i].end,
               "load_safetensors: ", path, ": tensors '", entries[i - 1].name, "' and '",
               entries[i].name, "' overlap at data offset ", entries[i].begin);
  for (const Entry& e : entries) {
    Tensor t = empty(e.shape, {.dtype = e.dtype});
    if (e.end > e.begin) {
      in.seekg(static_cast<std::streamoff>(data_start + e.begin));
      in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(e.end - e.begin));
      CTDL_CHECK(in.good(), "load_safetensors: ", path, ": reading '", e.name, "' at offset ",
                 data_start + e.begin, " failed");
    }
    if (e.dtype == DType::Bool) {  // any byte other than 0 or 1 is not a valid bool
      const uint8_t* b = static_cast<const uint8_t*>(t.raw_data());
      for (int64_t i = 0; i < t.numel(); ++i)
        CTDL_CHECK(b[i] <= 1, "load_safetensors: ", path, ": tensor '", e.name, "' has the byte ",
                   int(b[i]), " at offset ", data_start + e.begin + i, ", not a BOOL (0 or 1)");
    }
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

}  // namespace ctdl::nn
