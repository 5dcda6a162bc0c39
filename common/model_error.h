// The one exception type the detector core throws for anything a user can fix (bad file, bad option).
#pragma once

#include <stdexcept>
#include <string>

namespace retinanet {

class ModelError : public std::runtime_error {
 public:
  explicit ModelError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace retinanet
