// torchvision's RetinaNet.postprocess_detections for one image.
#pragma once

#include <torch/types.h>

#include <vector>

#include "common/detection.h"
#include "common/detection_record.h"
#include "model/files/config.h"

namespace retinanet {

struct PostprocessOptions {
  float score_thresh = 0.05f;
  float nms_thresh = 0.5f;
  int detections_per_img = 300;
  int topk_candidates = 1000;
  // Empty: every class has score_thresh (torchvision's postprocess, bit for bit). Else one threshold per class
  // (K entries): each level's candidates are selected at the lowest of them and score_thresh (torchvision's
  // steps: scores above it, the best topk_candidates), then those whose score is not above their class's
  // threshold are dropped, before NMS. So the result is torchvision's postprocess run at the lowest threshold
  // with that class filter inserted between the per-level top-k and batched_nms.
  std::vector<float> class_score_thresh;
  // NMS over all classes at once (torchvision.ops.nms), so that one object is not reported under two labels.
  bool agnostic_nms = false;
};

// The candidate selection threshold: score_thresh, or the lowest per-class threshold when lower.
float lowest_score_thresh(const PostprocessOptions& options);
// Which candidates pass their class's threshold: scores [C] float32, labels [C] int64, thresholds [K] float32,
// all on one device -> [C] bool (score above thresholds[label], torchvision's `>`). Both backends filter with it.
torch::Tensor passes_class_thresholds(const torch::Tensor& scores, const torch::Tensor& labels,
                                      const torch::Tensor& thresholds);

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

// Packed results (the CPU's from RawDetections, the GPU's from its one copy back) as Detections with the label
// names of `config`: the one place both backends build them.
Detections detections_from_records(const DetectionRecord* records, size_t count, const ModelConfig& config);

}  // namespace retinanet
