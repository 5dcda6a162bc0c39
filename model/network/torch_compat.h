// The few LibTorch API differences between the versions the core builds against: Debian's 1.13 and the 2.x of a
// pip-installed torch (the GPU build, scripts/build-cuda.sh).
#pragma once

#include <torch/version.h>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#include <variant>
#define RETINANET_TORCH_STD_VARIANT 1
#else
#include <c10/util/variant.h>
#endif

namespace retinanet::compat {

// torch::nn options hold variants (a convolution's padding): c10::variant up to 2.0, std::variant since 2.1.
template <typename T, typename Variant>
const T& get(const Variant& v) {
#ifdef RETINANET_TORCH_STD_VARIANT
  return std::get<T>(v);
#else
  return c10::get<T>(v);
#endif
}

}  // namespace retinanet::compat
