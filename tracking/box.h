// Axis-aligned boxes as the tracker sees them (frame pixels, corners), and their overlap. No GStreamer, no OpenCV.
#pragma once

#include <algorithm>

namespace retinanet::tracking {

struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;

  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
  float area() const { return std::max(0.f, width()) * std::max(0.f, height()); }
  float cx() const { return 0.5f * (x1 + x2); }
  float cy() const { return 0.5f * (y1 + y2); }
};

// Intersection over union; 0 for boxes that do not overlap or have no area.
inline float iou(const Box& a, const Box& b) {
  const float w = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const float h = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const float inter = w * h;
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

}  // namespace retinanet::tracking
