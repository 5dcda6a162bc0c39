#include "model/files/default_model.h"

#include "model/files/model_source.h"
#include "common/model_error.h"

#ifdef RETINANET_HAS_DEFAULT_MODEL
// Defined by the assembler file model/meson.build generates around the model's bytes (.incbin).
extern "C" const uint8_t retinanet_default_model_begin[];
extern "C" const uint8_t retinanet_default_model_end[];
#endif

namespace retinanet {

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
