// The ResNet body of torchvision.models.resnet (v1.5: stride on the 3x3 conv), returning C3, C4, C5 as
// torchvision's IntermediateLayerGetter does for returned_layers [2, 3, 4]. Parameter names equal torchvision's
// (`conv1.weight`, `layer1.0.downsample.1.running_mean`, ...). Batch norm is nn::BatchNorm2d: trainable when
// training from scratch, and in eval mode the same function as torchvision's FrozenBatchNorm2d.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <array>
#include <vector>

#include "model/network/arch.h"
#include "model/network/conv_fold.h"

namespace retinanet {

// One BasicBlock or Bottleneck.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(BlockType type, int64_t inplanes, int64_t planes, int64_t stride);
  torch::Tensor forward(torch::Tensor x);
  void fold_batch_norm(bool pack);  // eval-only from here on; pack: oneDNN weights

 private:
  BlockType type_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::BatchNorm2d> norms_;
  torch::nn::Sequential downsample_{nullptr};  // registered as "downsample": [0] conv, [1] norm
  torch::nn::Conv2d downsample_conv_{nullptr};
  torch::nn::BatchNorm2d downsample_bn_{nullptr};
  std::vector<FoldedConv> folded_;  // convs_ (then downsample) with their norms folded in
};
TORCH_MODULE(ResidualBlock);

class ResNetBodyImpl : public torch::nn::Module {
 public:
  explicit ResNetBodyImpl(const ArchSpec& arch);
  // x: [N, 3, H, W] -> C3 [N, c3, H/8, W/8], C4 [N, c4, H/16, W/16], C5 [N, c5, H/32, W/32]
  // (oneDNN tensors after fold_batch_norm(true)).
  std::array<torch::Tensor, 3> forward(torch::Tensor x);
  void fold_batch_norm(bool pack);

 private:
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  std::array<torch::nn::Sequential, 4> layers_{nullptr, nullptr, nullptr, nullptr};
  std::vector<FoldedConv> folded_stem_;
};
TORCH_MODULE(ResNetBody);

}  // namespace retinanet
