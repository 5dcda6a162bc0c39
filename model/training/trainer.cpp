#include "model/training/trainer.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/serialize.h>

#include <cmath>

#include "model/inference/anchors.h"
#include "common/model_error.h"
#include "model/files/safetensors.h"

namespace retinanet {

namespace {

torch::serialize::InputArchive read_optimizer_archive(const std::string& checkpoint) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(checkpoint + ".optim");
  } catch (const c10::Error& e) {
    throw ModelError(checkpoint + ".optim: cannot read the optimiser state to resume from");
  }
  return archive;
}

}  // namespace

BackboneTraining read_backbone_training(const std::string& checkpoint) {
  torch::serialize::InputArchive archive = read_optimizer_archive(checkpoint);
  BackboneTraining settings;
  torch::Tensor value;
  // Checkpoints written before these were recorded trained everything, batch norm included.
  if (archive.try_read("frozen_batch_norm", value)) settings.frozen_batch_norm = value.item<int64_t>() != 0;
  if (archive.try_read("trainable_backbone_layers", value))
    settings.trainable_backbone_layers = static_cast<int>(value.item<int64_t>());
  return settings;
}

Trainer::Trainer(RetinaNet net, const TrainOptions& options) : net_(std::move(net)), options_(options) {
  if (options.frozen_batch_norm) net_->backbone->body->freeze_batch_norm();
  net_->backbone->body->set_trainable_layers(options.trainable_backbone_layers);
  std::vector<torch::Tensor> params;
  for (auto& p : net_->parameters())
    if (p.requires_grad()) params.push_back(p);
  if (options.optimizer == "adamw") {
    optimizer_ = std::make_unique<torch::optim::AdamW>(
        params, torch::optim::AdamWOptions(options.lr).weight_decay(options.weight_decay));
  } else if (options.optimizer == "sgd") {
    optimizer_ = std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(options.lr).momentum(options.momentum).weight_decay(options.weight_decay));
  } else {
    throw ModelError("unknown optimizer '" + options.optimizer + "' (expected adamw or sgd)");
  }
  cell_anchors_ = make_cell_anchors(net_->config());
}

Trainer::~Trainer() = default;

double Trainer::learning_rate(int iteration) const {
  if (iteration < options_.warmup) {
    const double t = static_cast<double>(iteration + 1) / options_.warmup;
    return options_.lr * (0.001 + (1 - 0.001) * t);
  }
  const double span = std::max(1, options_.iterations - options_.warmup);
  const double t = std::min(1.0, (iteration - options_.warmup) / span);
  const double floor = options_.min_lr_ratio;
  return options_.lr * (floor + (1 - floor) * 0.5 * (1 + std::cos(M_PI * t)));
}

Losses Trainer::forward_losses(const TrainBatch& batch) {
  HeadOutputs out = net_->forward(batch.images);
  // All levels concatenated, as torchvision's head returns them: [N, A, K], [N, A, 4], anchors [A, 4].
  const torch::Tensor logits = torch::cat(out.class_logits, 1);
  const torch::Tensor deltas = torch::cat(out.box_deltas, 1);
  const torch::Tensor anchors =
      torch::cat(make_grid_anchors(cell_anchors_, batch.images.size(2), batch.images.size(3), out.grid_sizes));
  return retinanet_losses(logits, deltas, anchors, batch.targets,
                          net_->arch().giou_box_loss ? BoxLoss::kGIoU : BoxLoss::kL1);
}

StepLosses Trainer::step(const TrainBatch& batch, int iteration) {
  net_->train();
  const double lr = learning_rate(iteration);
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
  optimizer_->zero_grad();
  Losses l = forward_losses(batch);
  (l.classification + l.bbox_regression).backward();
  if (options_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(net_->parameters(), options_.grad_clip);
  optimizer_->step();
  return {l.classification.item<double>(), l.bbox_regression.item<double>()};
}

StepLosses Trainer::losses(const TrainBatch& batch) {
  net_->train();
  torch::NoGradGuard no_grad;
  Losses l = forward_losses(batch);
  return {l.classification.item<double>(), l.bbox_regression.item<double>()};
}

void Trainer::save_model(const std::string& path, int iteration,
                         const std::map<std::string, std::string>& extra) const {
  auto metadata = net_->config().to_metadata();
  metadata["iteration"] = std::to_string(iteration);
  for (const auto& [key, value] : extra) metadata[key] = value;
  write_safetensors(path, net_->named_tensors(), metadata);
}

void Trainer::save(const std::string& path, int iteration) const {
  save_model(path, iteration);
  torch::serialize::OutputArchive archive;
  optimizer_->save(archive);
  archive.write("iteration", torch::tensor(static_cast<int64_t>(iteration)));
  archive.write("frozen_batch_norm", torch::tensor(static_cast<int64_t>(options_.frozen_batch_norm)));
  archive.write("trainable_backbone_layers", torch::tensor(static_cast<int64_t>(options_.trainable_backbone_layers)));
  archive.save_to(path + ".optim");
}

int Trainer::resume(const std::string& path) {
  TensorFile file = read_safetensors(path);
  net_->load_tensors(file.tensors, path);
  torch::serialize::InputArchive archive = read_optimizer_archive(path);
  optimizer_->load(archive);
  torch::Tensor iteration;
  archive.read("iteration", iteration);
  return static_cast<int>(iteration.item<int64_t>());
}

}  // namespace retinanet
