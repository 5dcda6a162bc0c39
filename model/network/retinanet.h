// The RetinaNet network of torchvision.models.detection.retinanet: backbone (ResNet body + FPN) and head, built from
// torch::nn modules so that the same code runs inference and trains. Names follow torchvision's state_dict().
#pragma once

#include <torch/nn/module.h>

#include <string>
#include <utility>
#include <vector>

#include "model/network/arch.h"
#include "model/files/config.h"
#include "model/network/fpn.h"
#include "model/network/head.h"
#include "model/network/resnet.h"

namespace retinanet {

// Head outputs for a batch, one entry per level P3-P7.
struct HeadOutputs {
  std::vector<torch::Tensor> class_logits;  // [N, H_l * W_l * A, num_classes]
  std::vector<torch::Tensor> box_deltas;    // [N, H_l * W_l * A, 4]
  std::vector<std::pair<int64_t, int64_t>> grid_sizes;  // (H_l, W_l)
};

class BackboneImpl : public torch::nn::Module {
 public:
  explicit BackboneImpl(const ArchSpec& arch);
  ResNetBody body{nullptr};
  Fpn fpn{nullptr};
};
TORCH_MODULE(Backbone);

class RetinaNetImpl : public torch::nn::Module {
 public:
  explicit RetinaNetImpl(const ModelConfig& config);
  // images: [N, 3, H, W] normalised and padded to a multiple of 32
  HeadOutputs forward(const torch::Tensor& images);

  // Copies a file's tensors in; throws ModelError naming `source` and the first missing, unexpected or
  // misshapen tensor. BatchNorm's `num_batches_tracked` may be absent (torchvision's frozen batch norm has none).
  void load_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors, const std::string& source);
  // Parameters and buffers under torchvision's names, without `num_batches_tracked`.
  std::vector<std::pair<std::string, torch::Tensor>> named_tensors() const;
  // Eval-only from here on: batch norms folded into their convolutions; with `pack`, CPU weights in oneDNN's
  // layout (activations then stay oneDNN tensors from the stem to the head outputs).
  void prepare_inference(bool pack);  // pack (CPU): the module's own tensors are released; inference only from here

  const ModelConfig& config() const { return config_; }
  const ArchSpec& arch() const { return arch_; }
  int64_t num_anchors_per_location() const;

  Backbone backbone{nullptr};
  Head head{nullptr};

 private:
  ModelConfig config_;
  const ArchSpec& arch_;
};
TORCH_MODULE(RetinaNet);

}  // namespace retinanet
