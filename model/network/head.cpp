#include "model/network/head.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/normalization.h>

#include <cmath>

namespace retinanet {

namespace nn = torch::nn;

SubnetImpl::SubnetImpl(const ArchSpec& arch, int64_t num_anchors, int64_t outputs_per_anchor,
                       const std::string& predictor_name, double predictor_bias)
    : outputs_per_anchor_(outputs_per_anchor), group_norm_(arch.head_group_norm) {
  const int64_t c = arch.fpn_channels;
  nn::ModuleList conv_list;
  for (int i = 0; i < arch.head_convs; ++i) {
    // Conv2dNormActivation: the conv has a bias only when no norm follows it.
    nn::Conv2d conv(nn::Conv2dOptions(c, c, 3).padding(1).bias(!arch.head_group_norm));
    nn::init::normal_(conv->weight, 0.0, 0.01);
    if (conv->bias.defined()) nn::init::constant_(conv->bias, 0);
    tower_convs_.push_back(conv);
    nn::Sequential block(conv);
    if (arch.head_group_norm) block->push_back(nn::GroupNorm(nn::GroupNormOptions(32, c)));
    block->push_back(nn::ReLU(nn::ReLUOptions(true)));
    conv_list->push_back(block);
    conv_.push_back(block);
  }
  register_module("conv", conv_list);
  predictor_ = nn::Conv2d(nn::Conv2dOptions(c, num_anchors * outputs_per_anchor, 3).padding(1));
  nn::init::normal_(predictor_->weight, 0.0, 0.01);
  nn::init::constant_(predictor_->bias, predictor_bias);
  register_module(predictor_name, predictor_);
}

torch::Tensor SubnetImpl::forward(const torch::Tensor& features, bool largest_level) {
  const int64_t n = features.size(0);
  // Channels-last [N, H, W, A * K] is already torchvision's (N, HWA, K) order.
  if (chain_) return chain_->forward(features, largest_level).view({n, -1, outputs_per_anchor_});
  torch::Tensor out = features;
  if (!folded_.empty()) {
    for (size_t i = 0; i + 1 < folded_.size(); ++i) out = folded_[i](out).relu_();
    out = to_dense(folded_.back()(out));
  } else {
    out = to_dense(out);
    for (auto& block : conv_) out = block->forward(out);
    out = predictor_(out);
  }
  const int64_t h = out.size(2), w = out.size(3);
  // Permute output from (N, A * K, H, W) to (N, HWA, K).
  return out.view({n, -1, outputs_per_anchor_, h, w}).permute({0, 3, 4, 1, 2}).reshape({n, -1, outputs_per_anchor_});
}

void SubnetImpl::prepare_inference(bool pack, std::shared_ptr<WinogradWorkspace> workspace) {
  folded_.clear();
  chain_.reset();
  if (group_norm_) return;
  if (pack) {
    // The parameters themselves (no batch norm to fold here): the chain packs its own copies from them.
    std::vector<WinogradChain::Layer> layers;
    for (const nn::Conv2d& conv : tower_convs_) layers.push_back({conv->weight, conv->bias, true});
    layers.push_back({predictor_->weight, predictor_->bias, false});
    chain_ = WinogradChain::create(std::move(layers), std::move(workspace));
    if (chain_) return;
  }
  for (const nn::Conv2d& conv : tower_convs_) folded_.push_back(as_folded(conv));
  folded_.push_back(as_folded(predictor_));
  if (pack)
    for (FoldedConv& f : folded_) f.pack();
}

HeadImpl::HeadImpl(const ArchSpec& arch, int64_t num_anchors, int64_t num_classes) {
  // RetinaNetClassificationHead: prior probability 0.01 for every class at the start of training.
  const double prior_probability = 0.01;
  classification = register_module(
      "classification_head",
      Subnet(arch, num_anchors, num_classes, "cls_logits", -std::log((1 - prior_probability) / prior_probability)));
  regression = register_module("regression_head", Subnet(arch, num_anchors, 4, "bbox_reg", 0.0));
}

void HeadImpl::prepare_inference(bool pack, std::shared_ptr<WinogradWorkspace> workspace) {
  if (!workspace) workspace = make_winograd_workspace();
  classification->prepare_inference(pack, workspace);
  regression->prepare_inference(pack, workspace);
}

}  // namespace retinanet
