// COCO-format detection datasets (the `images`, `annotations` and `categories` of instances_*.json): reading for
// training and evaluation, writing for the synthetic sets. Category ids are used as label indices directly.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "model/training/annotation.h"

namespace retinanet {

// One annotation as the file has it, crowd ones included: what COCO evaluation matches against (crowd boxes and
// those outside an area range are ignored there, not dropped). Doubles, as pycocotools reads them.
struct CocoAnnotation {
  int64_t id = 0;
  int label = 0;
  double x = 0, y = 0, w = 0, h = 0;  // the file's bbox (may be degenerate)
  double area = 0;                    // the file's `area`, else w * h
  bool crowd = false;
};

struct CocoImage {
  int64_t id = 0;
  std::string file_name;
  int width = 0, height = 0;
  std::vector<LabeledBox> objects;  // for training: crowd annotations and degenerate boxes left out
  std::vector<CocoAnnotation> annotations;  // for evaluation: every valid annotation, in file order
};

struct CocoDataset {
  std::vector<CocoImage> images;     // in file order
  std::vector<std::string> labels;   // labels[category_id] = name; empty for unused ids
};

// Throws ModelError naming the file and what is wrong with it.
CocoDataset read_coco(const std::string& path);
// The same from a stream (the fuzz target's input); `path` names it in messages.
CocoDataset read_coco(std::istream& in, const std::string& path);
void write_coco(const std::string& path, const CocoDataset& dataset);

}  // namespace retinanet
