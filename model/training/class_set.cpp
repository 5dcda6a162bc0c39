#include "model/training/class_set.h"

#include <map>

namespace retinanet {

namespace {

const char kClassPredictor[] = "head.classification_head.cls_logits.";

}  // namespace

bool same_class_set(const ModelConfig& config, const std::vector<std::string>& labels) {
  if (config.num_classes != static_cast<int>(labels.size())) return false;
  for (size_t i = 0; i < labels.size() && i < config.labels.size(); ++i)
    if (!labels[i].empty() && !config.labels[i].empty() && labels[i] != config.labels[i]) return false;
  return true;
}

RetinaNet with_class_set(const RetinaNet& net, const std::vector<std::string>& labels) {
  ModelConfig config = net->config();
  config.labels = labels;
  config.num_classes = static_cast<int>(labels.size());
  config.class_score_thresh.clear();  // chosen for the old classes: an index may now name another class
  RetinaNet out(config);  // its head's constructor initialises cls_logits as torchvision does
  std::map<std::string, torch::Tensor> old;
  for (auto& p : net->named_parameters()) old[p.key()] = p.value();
  for (auto& b : net->named_buffers()) old[b.key()] = b.value();
  torch::NoGradGuard no_grad;
  auto copy = [&](const std::string& name, torch::Tensor& target) {
    if (name.rfind(kClassPredictor, 0) == 0) return;
    target.copy_(old.at(name));  // the same architecture: the same names and shapes
  };
  for (auto& p : out->named_parameters()) copy(p.key(), p.value());
  for (auto& b : out->named_buffers()) copy(b.key(), b.value());
  return out;
}

std::string label_list_text(const std::vector<std::string>& labels) {
  std::string text;
  for (const std::string& name : labels)
    if (!name.empty()) text += (text.empty() ? "" : ", ") + name;
  return text;
}

}  // namespace retinanet
