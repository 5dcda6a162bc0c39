// The detector's frame path on a CUDA device: the frame uploaded from pinned memory on the detector's own stream,
// pre-processed by the `preprocess` kernel straight into the network input (float32 or float16), the network run
// through LibTorch (cuDNN, benchmark mode), post-processed by the kernels in cuda/ (GpuPostprocess), and the
// detections copied back in one small transfer, the frame's only wait for the device.
// Built only with a CUDA LibTorch and nvcc (RETINANET_HAS_TORCH_CUDA); model/detector.cpp dispatches to it.
#pragma once

#include <memory>
#include <vector>

#include "model/detector.h"
#include "model/postprocess.h"
#include "model/retinanet.h"

namespace retinanet {

class GpuDetector {
 public:
  // net: loaded, on the host; it is moved to `device` once (weights stay there), its batch norms folded, and with
  // `half` converted to float16 (boxes and scores stay float32).
  GpuDetector(RetinaNet net, const ModelConfig& config, torch::Device device, bool half);
  ~GpuDetector();
  GpuDetector(const GpuDetector&) = delete;
  GpuDetector& operator=(const GpuDetector&) = delete;

  // As Detector::detect: a host frame in, detections by decreasing score in the frame's pixels out; `options`
  // are the thresholds of this frame (Detector::set_thresholds may change them between frames).
  std::vector<Detection> detect(const ImageView& frame, const PostprocessOptions& options);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace retinanet
