#include "model/network/resnet.h"

#include <torch/nn/functional/pooling.h>

#include <string>

#include "common/model_error.h"

namespace retinanet {

namespace nn = torch::nn;

namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

}  // namespace

ResidualBlockImpl::ResidualBlockImpl(BlockType type, int64_t inplanes, int64_t planes, int64_t stride)
    : type_(type) {
  if (type == BlockType::kBasic) {
    convs_ = {conv(inplanes, planes, 3, stride), conv(planes, planes, 3, 1)};
  } else {
    convs_ = {conv(inplanes, planes, 1, 1), conv(planes, planes, 3, stride), conv(planes, planes * 4, 1, 1)};
  }
  for (size_t i = 0; i < convs_.size(); ++i) {
    const std::string n = std::to_string(i + 1);
    register_module("conv" + n, convs_[i]);
    norms_.push_back(register_module("bn" + n, nn::BatchNorm2d(convs_[i]->options.out_channels())));
  }
  const int64_t out = convs_.back()->options.out_channels();
  if (stride != 1 || inplanes != out) {
    downsample_conv_ = conv(inplanes, out, 1, stride);
    downsample_bn_ = nn::BatchNorm2d(out);
    downsample_ = register_module("downsample", nn::Sequential(downsample_conv_, downsample_bn_));
  }
}

torch::Tensor ResidualBlockImpl::forward(torch::Tensor x) {
  torch::Tensor identity = x;
  torch::Tensor out = x;
  const size_t last = convs_.size() - 1;
  if (!folded_.empty()) {
    for (size_t i = 0; i < last; ++i) out = folded_[i](out).relu_();
    out = folded_[last](out);
    if (downsample_) identity = folded_.back()(x);
  } else {
    for (size_t i = 0; i < last; ++i) out = norms_[i](convs_[i](out)).relu_();
    out = norms_[last](convs_[last](out));
    if (downsample_) identity = downsample_->forward(x);
  }
  return out.add_(identity).relu_();
}

void ResidualBlockImpl::fold_batch_norm(bool pack) {
  folded_.clear();
  for (size_t i = 0; i < convs_.size(); ++i) folded_.push_back(fold_conv_bn(convs_[i], norms_[i]));
  if (downsample_) folded_.push_back(fold_conv_bn(downsample_conv_, downsample_bn_));
  if (pack)
    for (FoldedConv& f : folded_) f.pack();
}

ResNetBodyImpl::ResNetBodyImpl(const ArchSpec& arch) {
  conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, arch.stem_channels, 7).stride(2).padding(3).bias(false)));
  bn1_ = register_module("bn1", nn::BatchNorm2d(arch.stem_channels));
  int64_t inplanes = arch.stem_channels;
  for (int stage = 0; stage < 4; ++stage) {
    nn::Sequential layer;
    const int64_t planes = arch.stage_planes[stage];
    for (int b = 0; b < arch.blocks_per_stage[stage]; ++b) {
      const int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
      layer->push_back(ResidualBlock(arch.block, inplanes, planes, stride));
      inplanes = planes * arch.block_expansion();
    }
    layers_[stage] = register_module("layer" + std::to_string(stage + 1), layer);
  }
}

std::array<torch::Tensor, 3> ResNetBodyImpl::forward(torch::Tensor x) {
  if (!folded_stem_.empty() && folded_stem_[0].packed) x = x.to_mkldnn();
  x = folded_stem_.empty() ? bn1_(conv1_(x)) : folded_stem_[0](x);
  x = torch::max_pool2d(x.relu_(), 3, 2, 1);
  x = layers_[0]->forward(x);
  torch::Tensor c3 = layers_[1]->forward(x);
  torch::Tensor c4 = layers_[2]->forward(c3);
  torch::Tensor c5 = layers_[3]->forward(c4);
  return {c3, c4, c5};
}

void ResNetBodyImpl::fold_batch_norm(bool pack) {
  folded_stem_ = {fold_conv_bn(conv1_, bn1_)};
  if (pack) folded_stem_[0].pack();
  for (auto& layer : layers_)
    for (auto& block : *layer) block.get<ResidualBlock>()->fold_batch_norm(pack);
}

void ResNetBodyImpl::freeze_batch_norm() {
  for (auto& module : modules(/*include_self=*/false))
    if (auto* bn = module->as<nn::BatchNorm2d>())
      for (auto& p : bn->parameters()) p.requires_grad_(false);
  frozen_bn_ = true;
  train(is_training());
}

void ResNetBodyImpl::set_trainable_layers(int layers) {
  if (layers < 0 || layers > 5)
    throw ModelError("trainable backbone layers must be 0 to 5, got " + std::to_string(layers));
  std::vector<std::string> trained = {"layer4", "layer3", "layer2", "layer1", "conv1"};
  trained.resize(layers);
  if (layers == 5) trained.push_back("bn1");
  for (auto& p : named_parameters()) {
    bool train_it = false;
    for (const std::string& prefix : trained) train_it = train_it || p.key().rfind(prefix + ".", 0) == 0;
    if (!train_it) p.value().requires_grad_(false);
  }
}

void ResNetBodyImpl::train(bool on) {
  nn::Module::train(on);
  if (!frozen_bn_) return;
  for (auto& module : modules(/*include_self=*/false))
    if (auto* bn = module->as<nn::BatchNorm2d>()) bn->eval();
}

}  // namespace retinanet
