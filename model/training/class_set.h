// Fine-tuning onto another class set, as torchvision's fine-tuning tutorial does it: a new class predictor
// (head.classification_head.cls_logits) for the data's categories, every other tensor kept.
#pragma once

#include <string>
#include <vector>

#include "model/network/retinanet.h"

namespace retinanet {

// Whether a model trained for `config`'s classes can train on data labelled `labels` (labels[category_id] = name,
// empty for unused ids) as it is: the same number of classes and no index whose two names disagree (a model file
// without label names agrees with any names).
bool same_class_set(const ModelConfig& config, const std::vector<std::string>& labels);

// A copy of `net` for `labels`: cls_logits newly initialised as torchvision's RetinaNetClassificationHead does
// (weights normal(0, 0.01), bias -log((1 - 0.01) / 0.01), from torch's current random state), everything else
// copied; its config carries the new labels and num_classes.
RetinaNet with_class_set(const RetinaNet& net, const std::vector<std::string>& labels);

// "a, b, c" (unused ids left out), for messages.
std::string label_list_text(const std::vector<std::string>& labels);

}  // namespace retinanet
