// Comparing two detection lists the way the parity tests do: one-to-one matches of the same label, a score within
// a tolerance and a box of high IoU, for the detections scored above a floor (a score next to the threshold may
// fall on either side of it).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/detection.h"

namespace retinanet::testing {

inline float box_iou(const Detection& a, const Detection& b) {
  const float w = std::max(0.f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const float h = std::max(0.f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const float inter = w * h;
  const float uni = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return uni > 0 ? inter / uni : 1.f;
}

// Every detection of `expected` scored at least `min_score` has its own match in `actual` (same label, score within
// `score_tol`, IoU at least `min_iou`); returns what is missing, one line each (empty: all matched).
inline std::string unmatched(const std::vector<Detection>& expected, const std::vector<Detection>& actual,
                             float min_score, float score_tol, float min_iou) {
  std::vector<bool> used(actual.size(), false);
  std::string missing;
  for (const Detection& e : expected) {
    if (e.score < min_score) continue;
    bool found = false;
    for (size_t j = 0; j < actual.size() && !found; ++j)
      if (!used[j] && actual[j].label == e.label && std::abs(actual[j].score - e.score) <= score_tol &&
          box_iou(actual[j], e) >= min_iou)
        used[j] = found = true;
    if (!found)
      missing += "  label " + std::to_string(e.label) + " score " + std::to_string(e.score) + " box [" +
                 std::to_string(e.x1) + ", " + std::to_string(e.y1) + ", " + std::to_string(e.x2) + ", " +
                 std::to_string(e.y2) + "]\n";
  }
  return missing;
}

}  // namespace retinanet::testing
