// The architectures the detector knows, as data: adding a backbone is adding a row to the table in arch.cpp.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "model/files/config.h"

namespace retinanet {

enum class BlockType { kBasic, kBottleneck };  // torchvision.models.resnet.BasicBlock / Bottleneck

struct ArchSpec {
  std::string name;
  BlockType block;
  std::array<int, 4> blocks_per_stage;  // layer1..layer4
  std::array<int, 4> stage_planes;      // `planes` of each stage (64, 128, 256, 512 in torchvision's ResNets)
  int stem_channels;                    // conv1 output channels
  int fpn_channels;                     // FPN and head width
  bool p6_from_p5;                      // LastLevelP6P7: P6 from P5 (v1) or from C5 (v2)
  bool head_group_norm;                 // GroupNorm(32) after each head conv (v2)
  int head_convs;                       // convs before the class and box predictors
  bool giou_box_loss;                   // training: GIoU on decoded boxes (v2) or L1 on deltas (v1)
  // The architecture's own settings over ModelConfig's torchvision defaults (sizes, anchors, thresholds), or
  // nullptr: a model file's missing metadata and a new model take them.
  void (*apply_defaults)(ModelConfig& config);

  int block_expansion() const { return block == BlockType::kBottleneck ? 4 : 1; }
  // Output channels of C3, C4, C5 (layer2..layer4).
  std::array<int, 3> returned_channels() const;
};

// Throws ModelError listing the known names when `name` is not one of them.
const ArchSpec& find_arch(const std::string& name);
std::vector<std::string> known_arch_names();

// ModelConfig's defaults for `arch`: torchvision's, with the architecture's own settings applied. Throws as
// find_arch does.
ModelConfig default_config(const std::string& arch);

}  // namespace retinanet
