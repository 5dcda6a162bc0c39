// Differentiable box operations for training, as LibTorch ops following torchvision (the inference path decodes on
// the host with common/box_math.h instead; this copy exists because the GIoU loss needs gradients through decoding).
#pragma once

#include <torch/types.h>

namespace retinanet {

// torchvision.ops.box_iou: boxes1 [N, 4], boxes2 [M, 4] -> [N, M].
torch::Tensor box_iou_matrix(const torch::Tensor& boxes1, const torch::Tensor& boxes2);

// BoxCoder(weights=(1, 1, 1, 1)).encode_single: the deltas [N, 4] that move `anchors` onto `boxes` (both [N, 4]).
torch::Tensor encode_boxes(const torch::Tensor& boxes, const torch::Tensor& anchors);

// BoxCoder(weights=(1, 1, 1, 1)).decode_single: deltas [N, 4] applied to anchors [N, 4] -> boxes [N, 4].
torch::Tensor decode_boxes(const torch::Tensor& deltas, const torch::Tensor& anchors);

// torchvision.ops.generalized_box_iou_loss(reduction="sum", eps=1e-7) of matched pairs [N, 4].
torch::Tensor generalized_box_iou_loss_sum(const torch::Tensor& boxes1, const torch::Tensor& boxes2);

// torchvision.ops.sigmoid_focal_loss(alpha=0.25, gamma=2, reduction="sum").
torch::Tensor sigmoid_focal_loss_sum(const torch::Tensor& logits, const torch::Tensor& targets, double alpha = 0.25,
                                     double gamma = 2.0);

}  // namespace retinanet
