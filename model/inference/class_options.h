// Per-class settings a user gives as text: score thresholds ("person=0.6,car=0.4", the retinanetdetect property
// and the retinanet-detect flag share this syntax) and a labels file that renames a model's labels. No LibTorch.
#pragma once

#include <string>
#include <vector>

#include "model/files/config.h"

namespace retinanet {

// "key=value,key=value": each key a label name or index of `model` (ModelConfig::label_index), each value a
// number in [0, 1]; blanks around keys and values are ignored. Returns model.num_classes thresholds, -1 for the
// classes not named (they use the score threshold); empty text gives an empty result (no per-class thresholds).
// Throws ModelError naming the offending entry: a malformed one, an unknown label, a value out of range.
std::vector<float> parse_class_thresholds(const std::string& text, const ModelConfig& model);

// Syntax and ranges only, for when the labels are not known yet (a property set before the model is loaded):
// "" when `text` is acceptable, else the reason, as parse_class_thresholds words it.
std::string check_class_thresholds_syntax(const std::string& text);

// One name per line, line i naming label i; a final newline, '\r' line ends and blanks around names are ignored.
// Throws ModelError when the file cannot be read or its line count differs from `num_classes` (both given).
std::vector<std::string> read_labels_file(const std::string& path, int num_classes);

}  // namespace retinanet
