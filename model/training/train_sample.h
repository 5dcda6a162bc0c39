// Training inputs as torchvision's GeneralizedRCNNTransform prepares them in training mode: the image normalised
// and resized, its boxes resized with it; samples padded into one batch.
#pragma once

#include <torch/types.h>

#include <opencv2/core.hpp>
#include <vector>

#include "model/training/annotation.h"
#include "model/training/augment.h"
#include "model/files/config.h"
#include "model/training/loss.h"

namespace retinanet {

struct TrainSample {
  torch::Tensor image;  // [3, h, w] normalised, resized, unpadded
  Target target;        // boxes in the resized image's pixels
};

// `bgr`: an 8-bit colour image; `aug` distorts its colours, mirrors it and picks the resize's short side, the
// boxes following (the long side stays capped at the model's max_size).
TrainSample make_train_sample(const cv::Mat& bgr, const std::vector<LabeledBox>& objects, const ModelConfig& config,
                              const Augmentation& aug = {});

struct TrainBatch {
  torch::Tensor images;  // [N, 3, H, W]
  std::vector<Target> targets;
};
TrainBatch collate(const std::vector<TrainSample>& samples);

}  // namespace retinanet
