// Where a Detector's frames are processed: one implementation per device kind, behind one interface, so the
// detector facade has no per-device code. The CPU backend is in this folder (cpu_backend.cpp); the CUDA backend is
// in model/gpu/ and is linked in by the GPU build. A build without it links no_gpu_backend.cpp, whose factory
// refuses with the reason, so that nothing here depends on model/gpu/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/detection.h"
#include "common/image.h"
#include "model/inference/postprocess.h"
#include "model/network/retinanet.h"

namespace retinanet {

class Backend {
 public:
  virtual ~Backend() = default;
  // Detections on each frame (checked with check_frame, all of one size), by decreasing score, boxes in the
  // frame's pixels, from one forward pass of the batch. `options[i]` are frame i's thresholds (the frames of one
  // batch may come from streams with different settings). Each frame's detections equal those of a batch of one.
  virtual std::vector<Detections> detect_batch(const std::vector<ImageView>& frames,
                                               const std::vector<PostprocessOptions>& options) = 0;
  virtual std::string device() const = 0;  // "cpu", "cuda:0", ...
};

// net: loaded on the host (load_model); the backend prepares it for inference and owns it from here. config: the
// network's settings with the user's overrides (sizes, thresholds), which the backend's frames are processed with.
std::unique_ptr<Backend> make_cpu_backend(RetinaNet net, const ModelConfig& config);

// The CUDA side, defined by model/gpu/gpu_backend.cpp in the GPU build and by no_gpu_backend.cpp otherwise (with
// detector.h's has_gpu_path()).
int cuda_device_count();     // 0 without the GPU path
std::string no_gpu_reason();  // why there is no CUDA device to run on, for messages
std::unique_ptr<Backend> make_cuda_backend(RetinaNet net, const ModelConfig& config, int device_index, bool half);

}  // namespace retinanet
