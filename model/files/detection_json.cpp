#include "model/files/detection_json.h"

#include <cstdio>
#include <cstdlib>

namespace retinanet {

namespace {

// Rounded to `decimals` through their decimal text, so that the printed numbers are short (175.521, not
// 175.52100000000002); far below the detector's own accuracy.
double round_to(float value, int decimals) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", decimals, static_cast<double>(value));
  return std::strtod(text, nullptr);
}

}  // namespace

nlohmann::json detections_to_json(const std::vector<Detection>& detections) {
  nlohmann::json list = nlohmann::json::array();
  for (const Detection& d : detections) {
    list.push_back({{"label", d.label},
                    {"name", d.name},
                    {"score", round_to(d.score, 6)},
                    {"box", {round_to(d.x1, 4), round_to(d.y1, 4), round_to(d.x2, 4), round_to(d.y2, 4)}}});
  }
  return list;
}

}  // namespace retinanet
