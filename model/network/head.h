// torchvision's RetinaNetHead: the classification and box-regression subnets, shared across P3-P7.
// Parameter names equal torchvision's (`classification_head.conv.0.0.weight`, `regression_head.bbox_reg.bias`).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <vector>

#include "model/network/arch.h"
#include "model/network/conv_fold.h"
#include "model/network/winograd_chain.h"

namespace retinanet {

// One subnet: `head_convs` x (3x3 conv [+ GroupNorm(32)] + ReLU), then a 3x3 predictor of A * outputs channels.
class SubnetImpl : public torch::nn::Module {
 public:
  SubnetImpl(const ArchSpec& arch, int64_t num_anchors, int64_t outputs_per_anchor, const std::string& predictor_name,
             double predictor_bias);
  // features [N, C, H, W] -> [N, H * W * A, outputs_per_anchor] (torchvision's permute to (N, HWA, K))
  // largest_level: the frame's first (largest) level, whose Winograd weight layout the subnet keeps.
  torch::Tensor forward(const torch::Tensor& features, bool largest_level = true);
  // Eval-only from here on; pack (CPU): the whole subnet through oneDNN, Winograd where it can (see
  // winograd_chain.h), else ATen's oneDNN convolutions. GroupNorm subnets (v2) stay on ATen's dense ops.
  // Subnets given the same workspace share its memory (they run one after the other).
  void prepare_inference(bool pack, std::shared_ptr<WinogradWorkspace> workspace = nullptr);
  // After prepare_inference: whether forward still reads the module's own tensors (GroupNorm subnets do).
  bool reads_module_tensors() const { return group_norm_; }

 private:
  std::vector<torch::nn::Sequential> conv_;  // registered as the ModuleList "conv"
  std::vector<torch::nn::Conv2d> tower_convs_;  // conv_[i][0]
  torch::nn::Conv2d predictor_{nullptr};
  int64_t outputs_per_anchor_;
  bool group_norm_;
  std::vector<FoldedConv> folded_;  // the tower convs, then the predictor
  std::unique_ptr<WinogradChain> chain_;  // the same convolutions, as one oneDNN chain
};
TORCH_MODULE(Subnet);

class HeadImpl : public torch::nn::Module {
 public:
  HeadImpl(const ArchSpec& arch, int64_t num_anchors, int64_t num_classes);
  Subnet classification{nullptr};  // -> [N, HWA, num_classes] logits
  Subnet regression{nullptr};      // -> [N, HWA, 4] box deltas
  void prepare_inference(bool pack, std::shared_ptr<WinogradWorkspace> workspace = nullptr);
};
TORCH_MODULE(Head);

}  // namespace retinanet
