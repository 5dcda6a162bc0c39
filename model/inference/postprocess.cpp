#include "model/inference/postprocess.h"

#include <algorithm>
#include <cmath>

#include "common/box_math.h"
#include "common/model_error.h"
#include "model/inference/nms.h"

namespace retinanet {

namespace {

// Flat indices (anchor * K + class) and sigmoid scores above `score_thresh` of one level, the best `topk` of them.
// torchvision applies the sigmoid to every logit; comparing the logits first with a margin, then the sigmoid of
// the few survivors against the threshold, selects exactly the same entries for a fraction of the work.
std::pair<torch::Tensor, torch::Tensor> level_candidates(const torch::Tensor& logits, float score_thresh, int topk) {
  const torch::Tensor flat = logits.flatten();
  const double logit_thresh = std::log(score_thresh / (1.0 - score_thresh)) - 1e-3;
  torch::Tensor idx = score_thresh > 0 && score_thresh < 1 ? torch::nonzero(flat > logit_thresh).squeeze(1)
                                                           : torch::arange(flat.numel(), flat.device());
  torch::Tensor scores = torch::sigmoid(flat.index({idx}));
  const torch::Tensor keep = scores > score_thresh;
  scores = scores.index({keep});
  idx = idx.index({keep});
  const int64_t num_topk = std::min<int64_t>(topk, idx.size(0));
  auto [top_scores, order] = scores.topk(num_topk);
  return {idx.index({order}), top_scores};
}

}  // namespace

float lowest_score_thresh(const PostprocessOptions& options) {
  float lowest = options.score_thresh;
  for (float t : options.class_score_thresh) lowest = std::min(lowest, t);
  return lowest;
}

torch::Tensor passes_class_thresholds(const torch::Tensor& scores, const torch::Tensor& labels,
                                      const torch::Tensor& thresholds) {
  return scores > thresholds.index({labels});
}

RawDetections postprocess_detections(const std::vector<torch::Tensor>& class_logits,
                                     const std::vector<torch::Tensor>& box_deltas,
                                     const std::vector<torch::Tensor>& anchors, int64_t image_h, int64_t image_w,
                                     const PostprocessOptions& options) {
  std::vector<torch::Tensor> all_boxes, all_scores, all_labels;
  const bool per_class = !options.class_score_thresh.empty();
  const torch::Tensor class_thresh =
      per_class ? torch::tensor(options.class_score_thresh, torch::kFloat32).to(class_logits.at(0).device())
                : torch::Tensor();
  for (size_t l = 0; l < class_logits.size(); ++l) {
    const int64_t num_classes = class_logits[l].size(-1);
    if (per_class && num_classes != class_thresh.size(0))
      throw ModelError("per-class score thresholds: " + std::to_string(class_thresh.size(0)) + " for a model of " +
                       std::to_string(num_classes) + " classes");
    auto [flat_idx, scores] = level_candidates(class_logits[l], lowest_score_thresh(options), options.topk_candidates);
    torch::Tensor labels = flat_idx.remainder(num_classes);
    if (per_class) {
      const torch::Tensor pass = passes_class_thresholds(scores, labels, class_thresh);
      flat_idx = flat_idx.index({pass});
      scores = scores.index({pass});
      labels = labels.index({pass});
    }
    const torch::Tensor anchor_idx = torch::div(flat_idx, num_classes, "floor");
    // Only the selected candidates leave the device: [C, 4] deltas, decoded on the host.
    const torch::Tensor deltas = box_deltas[l].index({anchor_idx}).to(torch::kCPU, torch::kFloat32).contiguous();
    const torch::Tensor anchor_idx_cpu = anchor_idx.cpu();
    const int64_t count = deltas.size(0);
    torch::Tensor boxes = torch::empty({count, 4}, torch::kFloat32);
    const auto* level_anchors = reinterpret_cast<const Box*>(anchors[l].data_ptr<float>());
    const int64_t* ai = anchor_idx_cpu.data_ptr<int64_t>();
    auto* out = reinterpret_cast<Box*>(boxes.data_ptr<float>());
    for (int64_t i = 0; i < count; ++i)
      out[i] = clip_box(decode_box(deltas.data_ptr<float>() + 4 * i, level_anchors[ai[i]]), static_cast<float>(image_w),
                        static_cast<float>(image_h));
    all_boxes.push_back(boxes);
    all_scores.push_back(scores.to(torch::kCPU, torch::kFloat32));
    all_labels.push_back(labels.cpu());
  }
  RawDetections result{torch::cat(all_boxes), torch::cat(all_scores), torch::cat(all_labels)};
  torch::Tensor keep = options.agnostic_nms ? nms(result.boxes, result.scores, options.nms_thresh)
                                            : batched_nms(result.boxes, result.scores, result.labels, options.nms_thresh);
  keep = keep.slice(0, 0, options.detections_per_img);
  return {result.boxes.index({keep}), result.scores.index({keep}), result.labels.index({keep})};
}

Detections detections_from_records(const DetectionRecord* records, size_t count, const ModelConfig& config) {
  Detections detections(count);
  for (size_t i = 0; i < count; ++i) {
    const DetectionRecord& r = records[i];
    Detection& d = detections[i];
    d.label = r.label;
    d.name = config.label_name(r.label);
    d.score = r.score;
    d.x1 = r.x1, d.y1 = r.y1, d.x2 = r.x2, d.y2 = r.y2;
  }
  return detections;
}

}  // namespace retinanet
