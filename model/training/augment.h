// Augmentation of COCO training images as torchvision's and Detectron2's detection references do it: horizontal
// flip (p 0.5), scale jitter of the short side (the long side still capped at max_size; boxes follow through the
// resize) and torchvision's RandomPhotometricDistort (brightness, contrast, saturation, hue). Each sample's draws
// depend only on the seed and the sample's index, so a run (and a resumed one) sees the same samples.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>

namespace retinanet {

struct AugmentOptions {
  bool enabled = true;     // false: no augmentation at all (--no-augment)
  double min_scale = 0.8;  // short side uniform in [min_scale * min_size, min_size] (Detectron2's 640-800 of 800)
  bool photometric = true;
};

// One sample's draws; the defaults change nothing.
struct Augmentation {
  bool hflip = false;
  int short_side = 0;  // the resize's min_size; 0: the model's
  // RandomPhotometricDistort's factors (1, or 0 for hue: not applied) and its contrast-first-or-last coin.
  double brightness = 1, contrast = 1, saturation = 1, hue = 0;
  bool contrast_first = true;
};

// RandomPhotometricDistort's defaults: each distortion with probability 0.5, factors drawn from these ranges.
constexpr double kBrightness[2] = {0.875, 1.125};
constexpr double kContrast[2] = {0.5, 1.5};
constexpr double kSaturation[2] = {0.5, 1.5};
constexpr double kHue[2] = {-0.05, 0.05};

Augmentation draw_augmentation(const AugmentOptions& options, int min_size, uint64_t seed, uint64_t index);

// The distorted copy of an 8-bit BGR image (torchvision's adjust_brightness, _contrast, _saturation, _hue, in
// RandomPhotometricDistort's order); `bgr` itself when nothing applies.
cv::Mat photometric_distort(const cv::Mat& bgr, const Augmentation& aug);

}  // namespace retinanet
