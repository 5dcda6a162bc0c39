#include "model/network/retinanet.h"

#include <map>

#include "common/model_error.h"
#include "model/files/safetensors.h"

namespace retinanet {

namespace {

bool ends_with(const std::string& name, const std::string& suffix) {
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_batch_count(const std::string& name) { return ends_with(name, "num_batches_tracked"); }

}  // namespace

BackboneImpl::BackboneImpl(const ArchSpec& arch) {
  body = register_module("body", ResNetBody(arch));
  fpn = register_module("fpn", Fpn(arch));
}

RetinaNetImpl::RetinaNetImpl(const ModelConfig& config) : config_(config), arch_(find_arch(config.arch)) {
  backbone = register_module("backbone", Backbone(arch_));
  head = register_module("head", Head(arch_, num_anchors_per_location(), config_.num_classes));
}

int64_t RetinaNetImpl::num_anchors_per_location() const {
  return static_cast<int64_t>(config_.anchor_sizes[0].size() * config_.aspect_ratios.size());
}

HeadOutputs RetinaNetImpl::forward(const torch::Tensor& images) {
  std::vector<torch::Tensor> features = backbone->fpn(backbone->body(images));
  HeadOutputs out;
  for (size_t level = 0; level < features.size(); ++level) {
    const torch::Tensor& f = features[level];
    out.class_logits.push_back(head->classification->forward(f, level == 0));
    out.box_deltas.push_back(head->regression->forward(f, level == 0));
    out.grid_sizes.emplace_back(f.size(2), f.size(3));
  }
  return out;
}

void RetinaNetImpl::load_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                                 const std::string& source) {
  std::map<std::string, const torch::Tensor*> given;
  for (const auto& [name, t] : tensors) given[name] = &t;
  auto fail = [&](const std::string& why) {
    return ModelError(source + ": " + why + " (the file does not match architecture '" + config_.arch + "' with " +
                      std::to_string(config_.num_classes) + " classes)");
  };
  std::vector<std::pair<std::string, torch::Tensor>> expected;
  for (auto& p : named_parameters()) expected.emplace_back(p.key(), p.value());
  for (auto& b : named_buffers()) expected.emplace_back(b.key(), b.value());
  for (const auto& [name, target] : expected) {
    auto it = given.find(name);
    if (it == given.end()) {
      if (is_batch_count(name)) continue;
      throw fail("missing tensor '" + name + "'");
    }
    if (it->second->sizes() != target.sizes())
      throw fail("tensor '" + name + "' has shape " + shape_text(it->second->sizes()) + ", expected " +
                 shape_text(target.sizes()));
  }
  std::map<std::string, bool> known;
  for (const auto& e : expected) known[e.first] = true;
  for (const auto& [name, t] : tensors)
    if (!known.count(name)) throw fail("unexpected tensor '" + name + "'");
  // Values that parse but make no sense: NaN or infinite weights give NaN scores (or none), a batch-norm variance of
  // 0 or below an infinite or NaN scale once folded.
  for (const auto& [name, t] : tensors) {
    if (is_batch_count(name)) continue;
    if (!torch::isfinite(t).all().item<bool>())
      throw ModelError(source + ": tensor '" + name + "' holds NaN or infinite values");
    if (ends_with(name, ".running_var") && (t <= 0).any().item<bool>())
      throw ModelError(source + ": tensor '" + name + "' has a batch-norm variance of 0 or below (" +
                       std::to_string(t.min().item<float>()) + "); variances must be positive");
  }

  torch::NoGradGuard no_grad;
  for (auto& [name, target] : expected) {
    auto it = given.find(name);
    if (it != given.end()) target.copy_(*it->second);
  }
}

std::vector<std::pair<std::string, torch::Tensor>> RetinaNetImpl::named_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& p : named_parameters()) out.emplace_back(p.key(), p.value());
  for (auto& b : named_buffers())
    if (!is_batch_count(b.key())) out.emplace_back(b.key(), b.value());
  return out;
}

void RetinaNetImpl::prepare_inference(bool pack) {
  eval();
  backbone->body->fold_batch_norm(pack);
  // The FPN's and the subnets' Winograd chains run one after another: one workspace serves them all.
  std::shared_ptr<WinogradWorkspace> workspace = make_winograd_workspace();
  backbone->fpn->prepare_inference(pack, workspace);
  head->prepare_inference(pack, workspace);
  if (!pack) return;
  // Every convolution now reads its own packed copy (a Winograd chain holds its own reference to the weights it
  // re-packs from): the module's tensors would only double the weights' memory.
  torch::NoGradGuard no_grad;
  auto release = [](torch::nn::Module& module) {
    for (auto& p : module.parameters()) p.set_();
    for (auto& b : module.buffers()) b.set_();
  };
  release(*backbone);
  for (Subnet subnet : {head->classification, head->regression})
    if (!subnet->reads_module_tensors()) release(*subnet);
}

}  // namespace retinanet
