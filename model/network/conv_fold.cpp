#include "model/network/conv_fold.h"

#include <ATen/ops/mkldnn_convolution.h>
#include <ATen/ops/mkldnn_reorder_conv2d_weight.h>

#include "model/network/torch_compat.h"

namespace retinanet {

torch::Tensor FoldedConv::operator()(const torch::Tensor& x) const {
  if (packed) return at::mkldnn_convolution(x, weight, bias, {padding, padding}, {stride, stride}, {1, 1}, 1);
  return torch::conv2d(x, weight, bias, stride, padding);
}

void FoldedConv::pack() {
  if (packed) return;
  torch::NoGradGuard no_grad;
  if (!bias.defined()) bias = torch::zeros({weight.size(0)}, weight.options());
  weight = at::mkldnn_reorder_conv2d_weight(weight.contiguous().to_mkldnn(), {padding, padding}, {stride, stride},
                                            {1, 1}, 1);
  bias = bias.contiguous().to_mkldnn();
  packed = true;
}

FoldedConv fold_conv_bn(const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn) {
  torch::NoGradGuard no_grad;
  const auto& opts = bn->options;
  // FrozenBatchNorm2d: scale = w * rsqrt(running_var + eps), shift = b - running_mean * scale.
  torch::Tensor scale = bn->weight * (bn->running_var + opts.eps()).rsqrt();
  torch::Tensor shift = bn->bias - bn->running_mean * scale;
  FoldedConv folded = as_folded(conv);
  folded.weight = (folded.weight * scale.reshape({-1, 1, 1, 1})).contiguous();
  folded.bias = folded.bias.defined() ? folded.bias * scale + shift : shift;
  return folded;
}

FoldedConv as_folded(const torch::nn::Conv2d& conv) {
  FoldedConv folded;
  folded.weight = conv->weight.detach().clone();
  folded.bias = conv->bias.defined() ? conv->bias.detach().clone() : torch::Tensor();
  folded.stride = conv->options.stride()->at(0);
  folded.padding = compat::get<torch::ExpandingArray<2>>(conv->options.padding())->at(0);
  return folded;
}

torch::Tensor to_dense(const torch::Tensor& x) { return x.is_mkldnn() ? x.to_dense() : x; }

}  // namespace retinanet
