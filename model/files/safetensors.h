// Reading and writing `.safetensors` files (https://github.com/huggingface/safetensors, format version 1):
// an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and byte range, then the
// raw little-endian data. Tensors come back as contiguous float32 CPU tensors whatever their stored dtype.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace retinanet {

struct TensorFile {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // in the order of their data in the file
  std::map<std::string, std::string> metadata;                 // the header's `__metadata__`
};

// Throws ModelError, naming `path` and the first problem: unreadable, truncated, bad header, unsupported dtype,
// a byte range that does not fit its shape.
TensorFile read_safetensors(const std::string& path);
// The same from bytes in memory (an embedded model); `name` stands for the file in messages.
TensorFile read_safetensors(const uint8_t* data, size_t size, const std::string& name);

// A shape as messages show it: "[256, 64, 3, 3]".
std::string shape_text(torch::IntArrayRef shape);

// Writes float32 tensors (others are converted) in name order; throws ModelError when the file cannot be written.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace retinanet
