// torchvision's RetinaNet.postprocess_detections for one image.
#pragma once

#include <torch/types.h>

#include <vector>

namespace retinanet {

struct PostprocessOptions {
  float score_thresh = 0.05f;
  float nms_thresh = 0.5f;
  int detections_per_img = 300;
  int topk_candidates = 1000;
};

struct RawDetections {
  torch::Tensor boxes;   // [D, 4] in the resized image's pixels
  torch::Tensor scores;  // [D], decreasing
  torch::Tensor labels;  // [D] int64
};

// class_logits[l]: [HWA_l, K], box_deltas[l]: [HWA_l, 4] (any device), anchors[l]: [HWA_l, 4] on the host;
// image_h/image_w: the resized (unpadded) image size the boxes are clipped to.
RawDetections postprocess_detections(const std::vector<torch::Tensor>& class_logits,
                                     const std::vector<torch::Tensor>& box_deltas,
                                     const std::vector<torch::Tensor>& anchors, int64_t image_h, int64_t image_w,
                                     const PostprocessOptions& options);

}  // namespace retinanet
