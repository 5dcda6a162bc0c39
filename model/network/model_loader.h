// Loading a model: the file a user names (or the embedded default model), its metadata read over its
// architecture's defaults, the network built and its tensors checked and copied in. The one place the detector,
// the trainer and the tools load a model.
#pragma once

#include <string>

#include "model/network/retinanet.h"

namespace retinanet {

struct LoadedModel {
  RetinaNet net{nullptr};  // on the host, in float32, as the file describes it (net->config())
  std::string name;        // the path, or kDefaultModelName: what messages call it
};

// `weights` empty: the embedded default model. Throws ModelError with one line naming the model and the first
// problem (no such file, bad header or metadata, unknown architecture, a missing, extra or misshapen tensor).
LoadedModel load_model(const std::string& weights);

// The metadata of a model file read over its architecture's defaults (`arch` missing: torchvision's v1).
ModelConfig config_from_metadata(const std::map<std::string, std::string>& metadata);

}  // namespace retinanet
