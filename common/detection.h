// One detected object, as every part of the project passes it on: the detector returns them, the elements attach
// them as metadata, the JSON writers print them. No LibTorch or GStreamer here.
#pragma once

#include <string>
#include <vector>

namespace retinanet {

struct Detection {
  int label = 0;
  std::string name;
  float score = 0;
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // in the frame's pixels
};

using Detections = std::vector<Detection>;

}  // namespace retinanet
