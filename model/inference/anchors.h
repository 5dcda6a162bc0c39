// torchvision.models.detection.anchor_utils.AnchorGenerator for one image size.
#pragma once

#include <torch/types.h>

#include <utility>
#include <vector>

#include "model/files/config.h"

namespace retinanet {

// AnchorGenerator.generate_anchors for every level: [A, 4] each, A = sizes x ratios, ratio-major, rounded.
std::vector<torch::Tensor> make_cell_anchors(const ModelConfig& config);

// AnchorGenerator.forward for a padded image of `image_h` x `image_w` and its feature grids (H_l, W_l):
// one [H_l * W_l * A, 4] tensor per level, in the order of the head's outputs.
std::vector<torch::Tensor> make_grid_anchors(const std::vector<torch::Tensor>& cell_anchors, int64_t image_h,
                                             int64_t image_w,
                                             const std::vector<std::pair<int64_t, int64_t>>& grid_sizes);

}  // namespace retinanet
