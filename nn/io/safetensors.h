// The safetensors format: named tensors in one file that PyTorch, JAX, NumPy and others read.
//
//   nn::save_safetensors("weights.safetensors", net.state_dict(), {{"epoch", "3"}});
//   nn::Safetensors file = nn::load_safetensors("weights.safetensors");
//   net.load_state_dict(file.tensors, "weights.safetensors");
//   std::string epoch = file.metadata.at("epoch");
//
// Layout: 8 bytes (little-endian u64) giving the header's length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "value"}} padded with spaces to a multiple of 8, then the tensors'
// raw little-endian bytes, row-major, at the offsets given (relative to the end of the
// header). ctdl's dtypes map to BOOL, I64, F32 and F64.
//
// Saving is atomic (nn/io/atomic_file.h): a crash mid-save leaves the previous file intact.
// Loading checks everything against the file's size before touching the data: a truncated
// or corrupt file is an Error naming the file and the offset, never an out-of-bounds read.
#pragma once

#include <map>
#include <string>

#include "ctdl/nn/module.h"

namespace ctdl::nn {

using Metadata = std::map<std::string, std::string>;

struct Safetensors {
  NamedTensors tensors;  // in the order of their data in the file
  Metadata metadata;
};

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const Metadata& metadata = {});
Safetensors load_safetensors(const std::string& path);

}  // namespace ctdl::nn
