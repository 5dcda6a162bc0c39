// RetinaNet.postprocess_detections and transform.postprocess on the GPU, with the kernels in cuda/: per level the
// best-scored candidates (select_candidates) and their boxes (decode_boxes, anchors generated on the device), one
// batched_nms over all levels, and the kept detections mapped to the frame and packed for a single copy to the host
// (gather_detections). Everything is queued on the given stream; nothing waits for the device.
#pragma once

#include <cuda_runtime_api.h>
#include <torch/types.h>

#include <utility>
#include <vector>

#include "model/inference/postprocess.h"
#include "model/inference/transform.h"

namespace retinanet {

class GpuPostprocess {
 public:
  // cell_anchors: make_cell_anchors()'s [A, 4] per level (any device); they are uploaded once.
  GpuPostprocess(const std::vector<torch::Tensor>& cell_anchors, torch::Device device);

  // class_logits[l]: [H_l * W_l * A, K], box_deltas[l]: [H_l * W_l * A, 4], both float32, contiguous, on the device;
  // grid_sizes[l]: (H_l, W_l). Writes detections_buffer_bytes(options.detections_per_img) bytes at `out` (device).
  void run(const std::vector<torch::Tensor>& class_logits, const std::vector<torch::Tensor>& box_deltas,
           const std::vector<std::pair<int64_t, int64_t>>& grid_sizes, const InputGeometry& geometry,
           const PostprocessOptions& options, void* out, cudaStream_t stream) const;

 private:
  torch::Device device_;
  std::vector<torch::Tensor> cell_anchors_;  // [A, 4] float32 per level, on device_
};

}  // namespace retinanet
