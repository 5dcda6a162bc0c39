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

// Carves aligned pieces out of one workspace, one after the other; with a null base it only adds up their sizes
// (CUB-style: the same code sizes the workspace and then lays it out).
class WorkspaceCarver {
 public:
  explicit WorkspaceCarver(void* base) : base_(static_cast<char*>(base)) {}
  template <typename T>
  T* take(size_t count) {
    return static_cast<T*>(bytes(sizeof(T) * count));
  }
  void* bytes(size_t size) {
    char* at = base_ ? base_ + total_ : nullptr;
    total_ += align_workspace(size);
    return at;
  }
  size_t total() const { return total_; }

 private:
  char* base_;
  size_t total_ = 0;
};

}  // namespace retinanet

#define RETINANET_CUDA_CHECK(expr) ::retinanet::cuda_check((expr), #expr, __FILE__, __LINE__)
// After a kernel launch: reports a bad configuration at once (asynchronous faults surface at the next sync).
#define RETINANET_CUDA_CHECK_LAUNCH(kernel) ::retinanet::cuda_check(cudaGetLastError(), "launch of " kernel, __FILE__, __LINE__)
