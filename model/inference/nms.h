// Non-maximum suppression as torchvision.ops.nms / batched_nms compute it, on the host.
#pragma once

#include <torch/types.h>

namespace retinanet {

// boxes [N, 4] (x1, y1, x2, y2), scores [N] -> kept indices [K] int64, by decreasing score. A box is dropped when
// its IoU with a kept, higher-scoring box is above `iou_threshold`.
torch::Tensor nms(const torch::Tensor& boxes, const torch::Tensor& scores, double iou_threshold);

// NMS within each label: boxes of different labels never suppress each other. Same result layout as nms().
torch::Tensor batched_nms(const torch::Tensor& boxes, const torch::Tensor& scores, const torch::Tensor& labels,
                          double iou_threshold);

}  // namespace retinanet
