// The appearance cue of the tracker: a small colour descriptor per detection (a normalised joint RGB histogram of
// the middle of its box, computed by the producer of the observations, e.g. gst/appearance.h from the frame's
// pixels) and the distance between two of them. No GStreamer, no OpenCV.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace retinanet::tracking {

// Bins per colour channel of the joint histogram: 4 x 4 x 4 = 64 bins.
constexpr int kAppearanceBinsPerChannel = 4;
constexpr size_t kAppearanceSize = kAppearanceBinsPerChannel * kAppearanceBinsPerChannel *
                                   kAppearanceBinsPerChannel;

// The Hellinger distance of two histograms that each sum to 1: 0 for equal ones, 1 for ones without a common
// bin. -1 when either is missing (empty) or their sizes differ: no appearance to compare.
inline float appearance_distance(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.empty() || b.empty() || a.size() != b.size()) return -1;
  double bc = 0;  // Bhattacharyya coefficient
  for (size_t i = 0; i < a.size(); ++i) bc += std::sqrt(static_cast<double>(std::max(0.f, a[i])) * std::max(0.f, b[i]));
  return static_cast<float>(std::sqrt(std::max(0.0, 1.0 - bc)));
}

}  // namespace retinanet::tracking
