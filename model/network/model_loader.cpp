#include "model/network/model_loader.h"

#include "common/model_error.h"
#include "model/files/default_model.h"
#include "model/files/model_source.h"
#include "model/files/safetensors.h"
#include "model/network/arch.h"

namespace retinanet {

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
  model.net = RetinaNet(config);
  model.net->load_tensors(file.tensors, model.name);
  return model;
}

}  // namespace retinanet
