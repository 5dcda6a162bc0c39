#include "model/inference/device.h"

#include <cctype>

#include "common/model_error.h"

namespace retinanet {

DeviceRequest parse_device(const std::string& text) {
  DeviceRequest request;
  if (text.empty() || text == "auto") return request;
  if (text == "cpu") {
    request.kind = DeviceRequest::Kind::kCpu;
    return request;
  }
  if (text == "cuda" || text.rfind("cuda:", 0) == 0) {
    request.kind = DeviceRequest::Kind::kCuda;
    if (text == "cuda") return request;
    const std::string digits = text.substr(5);
    // Up to 4 digits: a device index, never an int overflow.
    bool ok = !digits.empty() && digits.size() <= 4;
    for (char c : digits) ok = ok && std::isdigit(static_cast<unsigned char>(c));
    if (!ok) throw ModelError("device '" + text + "' is not of the form cuda:N");
    request.index = std::stoi(digits);
    return request;
  }
  throw ModelError("unknown device '" + text + "' (expected auto, cpu, cuda or cuda:N)");
}

bool is_valid_device(const std::string& text, std::string* why) {
  try {
    parse_device(text);
    return true;
  } catch (const ModelError& e) {
    if (why) *why = e.what();
    return false;
  }
}

}  // namespace retinanet
