// The device a user names (`auto`, `cpu`, `cuda`, `cuda:N`): parsed in this one place for the element's property,
// the tools' --device and the detector. No LibTorch here.
#pragma once

#include <string>

namespace retinanet {

struct DeviceRequest {
  enum class Kind { kAuto, kCpu, kCuda };
  Kind kind = Kind::kAuto;  // kAuto: the first CUDA device when the build and the machine have one, else the CPU
  int index = 0;            // kCuda: N of cuda:N (0 for plain `cuda`)
};

// Empty text means auto. Throws ModelError with one line naming the text and the accepted forms.
DeviceRequest parse_device(const std::string& text);
// parse_device without the exception, for property setters: false and `why` set for text it refuses.
bool is_valid_device(const std::string& text, std::string* why = nullptr);

}  // namespace retinanet
