// The project's default model, embedded in the library at build time (model/default/), so that every tool and
// element works with no model file, from the build tree and after installation alike.
#pragma once

#include "model/files/safetensors.h"

namespace retinanet {

// Throws ModelError when this build has none (see has_default_model() in model_source.h).
TensorFile read_default_model();

}  // namespace retinanet
