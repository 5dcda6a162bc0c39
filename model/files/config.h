// What a model file says about itself: architecture, labels and the preferred inference settings.
// Parsed from the safetensors `__metadata__` (all values are strings there, lists as JSON text).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace retinanet {

struct ModelConfig {
  std::string arch = "retinanet_resnet50_fpn";
  int num_classes = 91;             // counts label 0 (background id), as torchvision does
  std::vector<std::string> labels;  // labels[i] names label i; empty names for unused ids
  // torchvision's GeneralizedRCNNTransform and RetinaNet defaults.
  int min_size = 800;
  int max_size = 1333;
  std::vector<float> image_mean{0.485f, 0.456f, 0.406f};
  std::vector<float> image_std{0.229f, 0.224f, 0.225f};
  float score_thresh = 0.05f;
  // Per-class score thresholds (metadata `class_score_thresh`, a JSON object label name or index -> number):
  // empty, or num_classes entries where a negative one means "score_thresh".
  std::vector<float> class_score_thresh;
  float nms_thresh = 0.5f;
  int detections_per_img = 300;
  int topk_candidates = 1000;
  // _default_anchorgen(): sizes (x, int(x * 2^(1/3)), int(x * 2^(2/3))) for x in 32..512 and ratios 0.5, 1, 2.
  std::vector<std::vector<float>> anchor_sizes{
      {32, 40, 50}, {64, 80, 101}, {128, 161, 203}, {256, 322, 406}, {512, 645, 812}};
  std::vector<float> aspect_ratios{0.5f, 1.0f, 2.0f};

  // Name of label `id`, or its number when the file names none.
  std::string label_name(int id) const;
  // The label a user's key names: a label name, else a decimal index below num_classes; -1 when neither.
  int label_index(const std::string& key) const;

  // The fields present in `metadata` override `defaults` (an architecture's: see default_config in
  // model/network/arch.h); a malformed value throws ModelError naming the key.
  static ModelConfig from_metadata(const std::map<std::string, std::string>& metadata, const ModelConfig& defaults);
  static ModelConfig from_metadata(const std::map<std::string, std::string>& metadata);
  std::map<std::string, std::string> to_metadata() const;
};

}  // namespace retinanet
