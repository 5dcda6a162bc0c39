// The detector run over a COCO set, as evaluate_coco takes its detections: what retinanet-eval scores and what
// retinanet-train's validation scores (one code path, so that both give the same numbers for the same model).
#pragma once

#include <string>
#include <vector>

#include "model/evaluation/coco_eval.h"
#include "model/inference/detector.h"

namespace retinanet {

// detections[i]: the detector's boxes on image_dir/truth.images[i].file_name. Throws ModelError naming an image
// that cannot be read.
std::vector<std::vector<ScoredBox>> detect_coco_set(Detector& detector, const std::string& image_dir,
                                                    const CocoDataset& truth);

}  // namespace retinanet
