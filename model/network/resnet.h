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

  // torchvision's FrozenBatchNorm2d, as its detection models use when they start from trained weights: every batch
  // norm keeps its statistics and affine parameters (no gradient) and stays in eval mode whatever train() says.
  void freeze_batch_norm();
  bool batch_norm_frozen() const { return frozen_bn_; }
  // torchvision's _resnet_fpn_extractor(trainable_layers): of layer4, layer3, layer2, layer1, conv1 the first
  // `layers` (0-5) train, 5 adds bn1; every other parameter gets requires_grad false (never set back to true).
  void set_trainable_layers(int layers);
  // Module::train, with frozen batch norms kept in eval mode (running statistics, never updated).
  void train(bool on = true) override;

 private:
  bool frozen_bn_ = false;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  std::array<torch::nn::Sequential, 4> layers_{nullptr, nullptr, nullptr, nullptr};
  std::vector<FoldedConv> folded_stem_;
};
TORCH_MODULE(ResNetBody);

}  // namespace retinanet
