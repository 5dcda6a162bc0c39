// One optimisation step at a time on a RetinaNet: forward in training mode, torchvision's losses, backward, update
// with warm-up and cosine decay; checkpoints as model files plus the optimiser's state for resuming.
#pragma once

#include <torch/optim/optimizer.h>

#include <map>
#include <memory>
#include <string>

#include "model/training/loss.h"
#include "model/network/retinanet.h"
#include "model/training/train_sample.h"

namespace retinanet {

struct TrainOptions {
  std::string optimizer = "adamw";  // adamw or sgd
  double lr = 1e-3;
  double momentum = 0.9;            // sgd
  double weight_decay = 1e-4;
  int warmup = 300;                 // iterations of linear warm-up from lr / 1000
  int iterations = 10000;           // the cosine decay reaches lr * min_lr_ratio here
  double min_lr_ratio = 0.01;
  double grad_clip = 10.0;          // max global gradient norm; 0 disables
  // What trains of the backbone (torchvision's fine-tuning setup when starting from weights: frozen batch norm,
  // 3 layers; from scratch: nn.BatchNorm2d, all 5). See ResNetBodyImpl::freeze_batch_norm / set_trainable_layers.
  bool frozen_batch_norm = false;
  int trainable_backbone_layers = 5;
};

// The backbone settings a checkpoint's run was started with (its .optim file): a resumed run keeps them.
struct BackboneTraining {
  bool frozen_batch_norm = false;
  int trainable_backbone_layers = 5;
};
BackboneTraining read_backbone_training(const std::string& checkpoint);

struct StepLosses {
  double classification = 0;
  double bbox_regression = 0;
};

class Trainer {
 public:
  Trainer(RetinaNet net, const TrainOptions& options);
  ~Trainer();

  // One update; `iteration` (0-based) picks the learning rate.
  StepLosses step(const TrainBatch& batch, int iteration);
  // The losses without an update, with the network in training mode (batch statistics), as torchvision reports them.
  StepLosses losses(const TrainBatch& batch);
  double learning_rate(int iteration) const;

  // Writes `path` (a model file the detector loads) and `path`.optim (optimiser state; iteration in metadata).
  void save(const std::string& path, int iteration) const;
  // The model file alone, `extra` added to its metadata.
  void save_model(const std::string& path, int iteration, const std::map<std::string, std::string>& extra = {}) const;
  // Restores both; returns the iteration to continue from.
  int resume(const std::string& path);

  RetinaNet& net() { return net_; }

 private:
  Losses forward_losses(const TrainBatch& batch);

  RetinaNet net_;
  TrainOptions options_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<torch::Tensor> cell_anchors_;
};

}  // namespace retinanet
