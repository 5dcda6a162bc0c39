#include "model/files/model_source.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "common/model_error.h"

namespace retinanet {

const char* const kDefaultModelName = "<embedded default model>";

bool has_default_model() {
#ifdef RETINANET_HAS_DEFAULT_MODEL
  return true;
#else
  return false;
#endif
}

std::string model_display_name(const std::string& weights) { return weights.empty() ? kDefaultModelName : weights; }

void check_model_source(const std::string& weights) {
  if (weights.empty()) {
    if (!has_default_model()) throw ModelError("no model given and this build has no embedded default model");
    return;
  }
  struct stat st;
  if (::stat(weights.c_str(), &st) != 0) {
    const int err = errno;
    throw ModelError(weights + ": cannot open: " + (err == ENOENT ? std::string("no such file") : std::strerror(err)));
  }
  if (S_ISDIR(st.st_mode)) throw ModelError(weights + ": is a directory, not a model file");
  if (!S_ISREG(st.st_mode)) throw ModelError(weights + ": not a regular file (a model is a .safetensors file)");
}

}  // namespace retinanet
