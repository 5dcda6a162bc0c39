// libFuzzer target: the safetensors reader on arbitrary bytes. Anything but a tensor file or a ModelError (a crash,
// a sanitizer report, another exception, a tensor that does not match its header) is a finding.
#include <cstdint>
#include <cstdlib>

#include "common/model_error.h"
#include "model/files/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const retinanet::TensorFile file = retinanet::read_safetensors(data, size, "fuzz");
    size_t bytes = 0;
    for (const auto& [name, t] : file.tensors) {
      if (t.scalar_type() != torch::kFloat32 || !t.is_contiguous()) std::abort();
      bytes += static_cast<size_t>(t.numel());
    }
    if (bytes > size) std::abort();  // every element came from at least one byte of the input
  } catch (const retinanet::ModelError&) {
  }
  return 0;
}
