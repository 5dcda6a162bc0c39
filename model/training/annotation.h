// An annotated object: what datasets hold and what training matches anchors against.
#pragma once

namespace retinanet {

struct LabeledBox {
  int label;
  float x1, y1, x2, y2;  // in pixels
};

}  // namespace retinanet
