// Folding an eval-mode batch norm into the convolution before it: the same function with one op instead of
// five (torchvision's FrozenBatchNorm2d computes x * scale + shift after the convolution).
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

namespace retinanet {

struct FoldedConv {
  torch::Tensor weight;  // [out, in, kh, kw]
  torch::Tensor bias;    // [out]
  int64_t stride = 1;
  int64_t padding = 0;

  torch::Tensor operator()(const torch::Tensor& x) const;
};

FoldedConv fold_conv_bn(const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn);
// A convolution with no norm after it, in the same form.
FoldedConv as_folded(const torch::nn::Conv2d& conv);

}  // namespace retinanet
