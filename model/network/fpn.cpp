#include "model/network/fpn.h"

#include <torch/nn/functional/upsampling.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/container/sequential.h>

namespace retinanet {

namespace nn = torch::nn;

namespace {

// FeaturePyramidNetwork and LastLevelP6P7 initialise every conv with kaiming_uniform_(a=1) and a zero bias.
nn::Conv2d fpn_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  nn::Conv2d conv(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2));
  nn::init::kaiming_uniform_(conv->weight, 1);
  nn::init::constant_(conv->bias, 0);
  return conv;
}

}  // namespace

FpnImpl::FpnImpl(const ArchSpec& arch) : p6_from_p5_(arch.p6_from_p5) {
  const int64_t out = arch.fpn_channels;
  nn::ModuleList inner_blocks, layer_blocks;
  for (int in : arch.returned_channels()) {
    inner_.push_back(fpn_conv(in, out, 1, 1));
    layer_.push_back(fpn_conv(out, out, 3, 1));
    // Conv2dNormActivation without norm or activation: a Sequential holding only the conv, hence ".0".
    inner_blocks->push_back(nn::Sequential(inner_.back()));
    layer_blocks->push_back(nn::Sequential(layer_.back()));
  }
  register_module("inner_blocks", inner_blocks);
  register_module("layer_blocks", layer_blocks);
  const int64_t p6_in = p6_from_p5_ ? out : arch.returned_channels()[2];
  auto extra = std::make_shared<nn::Module>();
  p6_ = extra->register_module("p6", fpn_conv(p6_in, out, 3, 2));
  p7_ = extra->register_module("p7", fpn_conv(out, out, 3, 2));
  register_module("extra_blocks", extra);
}

void FpnImpl::prepare_inference(bool pack, std::shared_ptr<WinogradWorkspace> workspace) {
  folded_.clear();
  for (const auto& convs : {inner_, layer_, std::vector<nn::Conv2d>{p6_, p7_}})
    for (const nn::Conv2d& conv : convs) folded_.push_back(as_folded(conv));
  if (pack)
    for (FoldedConv& f : folded_) f.pack();
  layer_chains_.clear();
  if (!pack) return;
  if (!workspace) workspace = make_winograd_workspace();
  for (const nn::Conv2d& conv : layer_) {
    layer_chains_.push_back(WinogradChain::create({{conv->weight, conv->bias, false}}, workspace));
    if (!layer_chains_.back()) {
      layer_chains_.clear();
      return;
    }
  }
  for (int i = 0; i < 3; ++i) folded_[3 + i] = FoldedConv{};  // the chains' work now
}

std::vector<torch::Tensor> FpnImpl::forward(const std::array<torch::Tensor, 3>& c) {
  namespace F = torch::nn::functional;
  const bool folded = !folded_.empty();
  auto inner = [&](int i, const torch::Tensor& x) { return folded ? folded_[i](x) : inner_[i](x); };
  auto layer = [&](int i, const torch::Tensor& x) {
    // [N, H, W, C] back as [N, C, H, W] in channels-last strides
    if (!layer_chains_.empty()) return layer_chains_[i]->forward(x).permute({0, 3, 1, 2});
    return folded ? folded_[3 + i](x) : layer_[i](x);
  };
  std::vector<torch::Tensor> p(3);
  torch::Tensor last_inner = inner(2, c[2]);
  p[2] = layer(2, last_inner);
  for (int idx = 1; idx >= 0; --idx) {
    torch::Tensor lateral = inner(idx, c[idx]);
    // oneDNN has no nearest upsampling: this one op runs on a dense copy.
    torch::Tensor top_down = F::interpolate(
        to_dense(last_inner),
        F::InterpolateFuncOptions().size(std::vector<int64_t>{lateral.size(2), lateral.size(3)}).mode(torch::kNearest));
    last_inner = lateral.add_(lateral.is_mkldnn() ? top_down.to_mkldnn() : top_down);
    p[idx] = layer(idx, last_inner);
  }
  torch::Tensor p6_input = p6_from_p5_ ? p[2] : c[2];
  if (folded && folded_[6].packed && !p6_input.is_mkldnn()) p6_input = p6_input.contiguous().to_mkldnn();
  torch::Tensor p6 = folded ? folded_[6](p6_input) : p6_(p6_input);
  torch::Tensor p7 = folded ? folded_[7](torch::relu(p6)) : p7_(torch::relu(p6));
  p.push_back(p6);
  p.push_back(p7);
  return p;
}

}  // namespace retinanet
