// The synthetic scenes the default model learns from: circles, squares and triangles of many sizes, colours and
// rotations, overlapping each other, on flat, gradient, noise and line-clutter backgrounds, with light blur and
// JPEG artefacts. Deterministic for a given seed.
#pragma once

#include <opencv2/core.hpp>
#include <random>
#include <string>
#include <vector>

#include "model/training/annotation.h"

namespace retinanet {

// Label ids of the shapes (0 is unused, as in torchvision's convention).
enum ShapeLabel { kCircle = 1, kSquare = 2, kTriangle = 3 };
const std::vector<std::string>& shape_label_names();  // {"", "circle", "square", "triangle"}


struct Scene {
  cv::Mat bgr;  // CV_8UC3
  std::vector<LabeledBox> objects;  // tight boxes of the shapes
};

struct SceneOptions {
  int width = 640;
  int height = 480;
  int min_objects = 1;
  int max_objects = 10;
  float min_size = 15;   // shape extent in pixels at 640x480 (scaled with the frame's short side)
  float max_size = 160;
  float min_visible = 0.6f;  // a shape may be covered by later ones up to 40%
};

class SceneGenerator {
 public:
  explicit SceneGenerator(SceneOptions options = {}) : options_(options) {}
  // The scene for `seed`: the same seed always gives the same scene.
  Scene generate(uint64_t seed) const;

 private:
  SceneOptions options_;
};

}  // namespace retinanet
