// Which model a run uses: the file a user names, or the project's default model embedded in the library when they
// name none. Answered in this one place for the detector, the element and the tools. No LibTorch here.
#pragma once

#include <string>

namespace retinanet {

// Whether this build embeds the project's default model, and the name that stands for it in messages.
bool has_default_model();
extern const char* const kDefaultModelName;

// `weights` as messages show it: the path, or kDefaultModelName when it is empty.
std::string model_display_name(const std::string& weights);

// Checks that `weights` names something a model can be read from before anything opens it: empty needs an
// embedded default model; a path must be an existing regular file (a directory, FIFO or device is refused, so
// that nothing blocks on open). Throws ModelError with one line naming the path and what is wrong.
void check_model_source(const std::string& weights);

}  // namespace retinanet
