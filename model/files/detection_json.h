// Detections as the JSON of DESIGN.md's command-line contract, shared by retinanet-detect and retinanetjson.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "model/inference/detector.h"

namespace retinanet {

// [{"label": 3, "name": "square", "score": 0.97, "box": [x1, y1, x2, y2]}, ...]
nlohmann::json detections_to_json(const std::vector<Detection>& detections);

}  // namespace retinanet
