// Checked CUDA calls and launches for the host launchers in cuda/: a failure throws CudaError naming the call, the
// file and the line, so that the detector turns it into one clear message.
#pragma once

#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace retinanet {

class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline void cuda_check(cudaError_t status, const char* what, const char* file, int line) {
  if (status != cudaSuccess)
    throw CudaError(std::string(what) + " failed at " + file + ":" + std::to_string(line) + ": " +
                    cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")");
}

// Rounds a scratch size up to the alignment every piece of a workspace starts at.
constexpr size_t kWorkspaceAlignment = 256;
inline size_t align_workspace(size_t bytes) {
  return (bytes + kWorkspaceAlignment - 1) / kWorkspaceAlignment * kWorkspaceAlignment;
}

}  // namespace retinanet

#define RETINANET_CUDA_CHECK(expr) ::retinanet::cuda_check((expr), #expr, __FILE__, __LINE__)
// After a kernel launch: reports a bad configuration at once (asynchronous faults surface at the next sync).
#define RETINANET_CUDA_CHECK_LAUNCH(kernel) ::retinanet::cuda_check(cudaGetLastError(), "launch of " kernel, __FILE__, __LINE__)
