// The CUDA side of backend.h in a build without the GPU path (Debian's LibTorch has no CUDA): no device, and a
// refusal that says how to get one.
#include "common/model_error.h"
#include "model/inference/backend.h"
#include "model/inference/detector.h"

namespace retinanet {

bool has_gpu_path() { return false; }

int cuda_device_count() { return 0; }

std::string no_gpu_reason() {
#if defined(RETINANET_TORCH_CUDA_WITHOUT_NVCC)
  return "this build has no GPU path (its LibTorch has CUDA but nvcc was not found when it was configured)";
#else
  return "this build's LibTorch has no CUDA; build the GPU path with scripts/build-cuda.sh (a pip torch with CUDA) "
         "or meson -Dtorch_dir=<a CUDA LibTorch>";
#endif
}

std::unique_ptr<Backend> make_cuda_backend(RetinaNet, const ModelConfig&, int, bool) { throw ModelError(no_gpu_reason()); }

}  // namespace retinanet
