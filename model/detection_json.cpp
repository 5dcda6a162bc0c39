#include "model/detection_json.h"

#include <cmath>

namespace retinanet {

namespace {

// Rounded so that the printed numbers are short; far below the detector's own accuracy.
double round_to(float value, double step) { return std::round(static_cast<double>(value) / step) * step; }

}  // namespace

nlohmann::json detections_to_json(const std::vector<Detection>& detections) {
  nlohmann::json list = nlohmann::json::array();
  for (const Detection& d : detections) {
    list.push_back({{"label", d.label},
                    {"name", d.name},
                    {"score", round_to(d.score, 1e-6)},
                    {"box", {round_to(d.x1, 1e-4), round_to(d.y1, 1e-4), round_to(d.x2, 1e-4), round_to(d.y2, 1e-4)}}});
  }
  return list;
}

}  // namespace retinanet
