#include "model/network/model_loader.h"

#include "common/model_error.h"
#include "model/files/default_model.h"
#include "model/files/model_source.h"
#include "model/files/safetensors.h"
#include "model/network/arch.h"

namespace retinanet {

namespace {

// The class and box predictors' output counts follow from the metadata alone (num_classes, anchors per location):
// compared with the file before the network is built, so that a file claiming a million classes is refused at once
// instead of after allocating gigabytes for a network its tensors cannot fill.
void check_predictors(const TensorFile& file, const ModelConfig& config, const std::string& name) {
  const int64_t anchors = static_cast<int64_t>(config.anchor_sizes.at(0).size() * config.aspect_ratios.size());
  const int64_t channels = find_arch(config.arch).fpn_channels;
  const std::pair<const char*, int64_t> predictors[] = {
      {"head.classification_head.cls_logits.weight", config.num_classes},  // [A * K, C, 3, 3]
      {"head.regression_head.bbox_reg.weight", 4}};                        // [A * 4, C, 3, 3]
  for (const auto& [predictor, per_anchor] : predictors) {
    const std::vector<int64_t> expected{anchors * per_anchor, channels, 3, 3};
    for (const auto& [tensor, t] : file.tensors)
      if (tensor == predictor && t.sizes().vec() != expected)
        throw ModelError(name + ": tensor '" + tensor + "' has shape " + shape_text(t.sizes()) + ", expected " +
                         shape_text(expected) + " (metadata 'num_classes' " + std::to_string(config.num_classes) +
                         ", " + std::to_string(anchors) + " anchors per location from anchor_sizes and aspect_ratios)");
  }
}

}  // namespace

ModelConfig config_from_metadata(const std::map<std::string, std::string>& metadata) {
  const auto arch = metadata.find("arch");
  const ModelConfig defaults = default_config(arch == metadata.end() ? ModelConfig().arch : arch->second);
  return ModelConfig::from_metadata(metadata, defaults);
}

LoadedModel load_model(const std::string& weights) {
  check_model_source(weights);
  LoadedModel model;
  model.name = model_display_name(weights);
  TensorFile file = weights.empty() ? read_default_model() : read_safetensors(weights);
  ModelConfig config;
  try {
    config = config_from_metadata(file.metadata);
  } catch (const ModelError& e) {
    throw ModelError(model.name + ": " + e.what());
  }
  check_predictors(file, config, model.name);
  model.net = RetinaNet(config);
  model.net->load_tensors(file.tensors, model.name);
  return model;
}

}  // namespace retinanet
