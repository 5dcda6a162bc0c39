// torchvision.ops.FeaturePyramidNetwork on C3-C5 with the LastLevelP6P7 extra block: P3-P7 of `fpn_channels`.
// Parameter names equal torchvision's (`inner_blocks.0.0.weight`, `extra_blocks.p6.bias`, ...).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>

#include <array>
#include <vector>

#include "model/network/arch.h"
#include "model/network/conv_fold.h"
#include "model/network/winograd_chain.h"

namespace retinanet {

class FpnImpl : public torch::nn::Module {
 public:
  explicit FpnImpl(const ArchSpec& arch);
  // C3, C4, C5 -> P3 .. P7, each [N, fpn_channels, H/2^l, W/2^l]
  std::vector<torch::Tensor> forward(const std::array<torch::Tensor, 3>& c);
  // Eval-only from here on; pack: oneDNN weights, inputs and outputs are oneDNN tensors, except P3-P5 when the 3x3
  // output convolutions run as Winograd chains (winograd_chain.h): those come channels-last, as the subnets take them.
  void prepare_inference(bool pack, std::shared_ptr<WinogradWorkspace> workspace = nullptr);

 private:
  std::vector<torch::nn::Conv2d> inner_, layer_;  // the 1x1 laterals and 3x3 outputs, C3 first
  torch::nn::Conv2d p6_{nullptr}, p7_{nullptr};
  bool p6_from_p5_;
  std::vector<FoldedConv> folded_;  // inner (3), layer (3), p6, p7
  std::vector<std::unique_ptr<WinogradChain>> layer_chains_;  // the layer convs, when oneDNN has them
};
TORCH_MODULE(Fpn);

}  // namespace retinanet
