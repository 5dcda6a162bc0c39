#include "model/conv_fold.h"

#include <torch/nn/functional/conv.h>

namespace retinanet {

torch::Tensor FoldedConv::operator()(const torch::Tensor& x) const {
  return torch::conv2d(x, weight, bias, stride, padding);
}

FoldedConv fold_conv_bn(const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn) {
  torch::NoGradGuard no_grad;
  const auto& opts = bn->options;
  // FrozenBatchNorm2d: scale = w * rsqrt(running_var + eps), shift = b - running_mean * scale.
  torch::Tensor scale = bn->weight * (bn->running_var + opts.eps()).rsqrt();
  torch::Tensor shift = bn->bias - bn->running_mean * scale;
  FoldedConv folded;
  folded.weight = (conv->weight * scale.reshape({-1, 1, 1, 1})).contiguous();
  folded.bias = conv->bias.defined() ? conv->bias * scale + shift : shift;
  folded.stride = conv->options.stride()->at(0);
  folded.padding = c10::get<torch::ExpandingArray<2>>(conv->options.padding())->at(0);
  return folded;
}

FoldedConv as_folded(const torch::nn::Conv2d& conv) {
  FoldedConv folded;
  folded.weight = conv->weight.detach();
  folded.bias = conv->bias.defined() ? conv->bias.detach() : torch::Tensor();
  folded.stride = conv->options.stride()->at(0);
  folded.padding = c10::get<torch::ExpandingArray<2>>(conv->options.padding())->at(0);
  return folded;
}

}  // namespace retinanet
