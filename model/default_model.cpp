#include <cstdlib>

#include "model/detector.h"

namespace retinanet {

// Until the project's own default model lands, a model can be named through the environment.
std::string default_model_path() {
  const char* env = std::getenv("RETINANET_DEFAULT_MODEL");
  return env ? std::string(env) : std::string();
}

}  // namespace retinanet
