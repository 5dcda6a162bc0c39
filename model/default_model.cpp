#include "model/default_model.h"

#include "model/detector.h"
#include "model/model_error.h"

#ifdef RETINANET_HAS_DEFAULT_MODEL
// Defined by the assembler file model/meson.build generates around the model's bytes (.incbin).
extern "C" const uint8_t retinanet_default_model_begin[];
extern "C" const uint8_t retinanet_default_model_end[];
#endif

namespace retinanet {

const char* const kDefaultModelName = "<embedded default model>";

bool has_default_model() {
#ifdef RETINANET_HAS_DEFAULT_MODEL
  return true;
#else
  return false;
#endif
}

TensorFile read_default_model() {
#ifdef RETINANET_HAS_DEFAULT_MODEL
  return read_safetensors(retinanet_default_model_begin,
                          static_cast<size_t>(retinanet_default_model_end - retinanet_default_model_begin),
                          kDefaultModelName);
#else
  throw ModelError("this build has no embedded default model");
#endif
}

}  // namespace retinanet
