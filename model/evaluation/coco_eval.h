// COCO's bbox evaluation: the twelve numbers of pycocotools' COCOeval.summarize() and per-category AP, computed as
// COCOeval.evaluate() and accumulate() do (IoU thresholds .50:.05:.95, area ranges all / small < 32^2 / medium /
// large > 96^2 by the annotation's `area`, maxDets 1/10/100, 101-point interpolated precision, crowd and
// out-of-range annotations ignored rather than counted, per image and category greedy matching by score).
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "model/training/coco.h"

namespace retinanet {

// One detection to score, in the image's pixels (doubles, as pycocotools holds them).
struct ScoredBox {
  int label = 0;
  double score = 0;
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};

struct CocoMetrics {
  // AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl; -1 where nothing could be measured.
  std::array<double, 12> stats{};
  std::vector<std::pair<std::string, double>> per_class_ap;  // category name -> AP (-1: no ground truth)
};

// The metric names, in stats' order.
extern const std::array<const char*, 12> kCocoMetricNames;

// detections[i] are those found on truth.images[i] (any order; ties in score keep this order, as COCOeval's
// stable sorts do). Detections of a label that is not one of the set's categories are ignored.
CocoMetrics evaluate_coco(const CocoDataset& truth, const std::vector<std::vector<ScoredBox>>& detections);

// {"AP": ..., ..., "ARl": ..., "per_class_AP": {name: AP, ...}}, keys in that order
nlohmann::ordered_json metrics_to_json(const CocoMetrics& metrics);

}  // namespace retinanet
