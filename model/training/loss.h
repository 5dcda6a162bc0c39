// RetinaNet's training losses as torchvision computes them (RetinaNet.compute_loss and the heads' compute_loss):
// anchors matched to objects by IoU (>= 0.5 foreground, < 0.4 background, between ignored, each object's best
// anchors kept even when low), sigmoid focal loss over all non-ignored anchors and a box loss over the foreground
// ones (L1 on encoded deltas for v1, GIoU on decoded boxes for v2), each normalised by the foreground count.
#pragma once

#include <torch/types.h>

#include <vector>

namespace retinanet {

enum class BoxLoss { kL1, kGIoU };

struct Target {
  torch::Tensor boxes;   // [G, 4] in the network input's pixels
  torch::Tensor labels;  // [G] int64
};

struct Losses {
  torch::Tensor classification;
  torch::Tensor bbox_regression;
};

// torchvision's Matcher(0.5, 0.4, allow_low_quality_matches=True): [G, A] IoU -> [A] matched object index, or
// -1 (background) / -2 (between thresholds, ignored).
torch::Tensor match_anchors(const torch::Tensor& iou);

// class_logits [N, A, K], box_deltas [N, A, 4], anchors [A, 4] (all levels concatenated), one target per image.
Losses retinanet_losses(const torch::Tensor& class_logits, const torch::Tensor& box_deltas, const torch::Tensor& anchors,
                        const std::vector<Target>& targets, BoxLoss box_loss);

}  // namespace retinanet
