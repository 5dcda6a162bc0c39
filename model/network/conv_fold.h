// Inference-only convolutions: an eval-mode batch norm folded into the convolution before it (the same function
// with one op instead of five: torchvision's FrozenBatchNorm2d computes x * scale + shift after the convolution),
// and, on the CPU, weights pre-packed into oneDNN's blocked layout so that activations stay in that layout from
// one convolution to the next instead of being reordered around every call.
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

namespace retinanet {

struct FoldedConv {
  torch::Tensor weight;  // [out, in, kh, kw], dense or oneDNN-packed
  torch::Tensor bias;    // [out]
  int64_t stride = 1;
  int64_t padding = 0;
  bool packed = false;   // weight and bias in oneDNN layout: inputs must be oneDNN tensors too

  torch::Tensor operator()(const torch::Tensor& x) const;
  // Packs the weights for oneDNN (CPU only).
  void pack();
};

FoldedConv fold_conv_bn(const torch::nn::Conv2d& conv, const torch::nn::BatchNorm2d& bn);
// A convolution with no norm after it, in the same form.
FoldedConv as_folded(const torch::nn::Conv2d& conv);

// oneDNN tensors support convolution, ReLU, addition and max pooling; the few other ops convert around them.
torch::Tensor to_dense(const torch::Tensor& x);

}  // namespace retinanet
