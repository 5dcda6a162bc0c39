#include "model/network/arch.h"

#include "common/model_error.h"

namespace retinanet {

namespace {

// The default model's settings: native 640x480 input, anchors from 16 px (shapes of 15 px and up), one aspect
// ratio (the shapes' boxes are close to square whatever their rotation), a confident score threshold.
void tiny_defaults(ModelConfig& c) {
  c.min_size = 480;
  c.max_size = 640;
  c.anchor_sizes = {{16, 20, 25}, {32, 40, 50}, {64, 80, 101}, {128, 161, 203}, {256, 322, 406}};
  c.aspect_ratios = {1.0f};
  c.score_thresh = 0.3f;
  c.detections_per_img = 100;
}

const ArchSpec kArchs[] = {
    // torchvision.models.detection.retinanet_resnet50_fpn
    {"retinanet_resnet50_fpn", BlockType::kBottleneck, {3, 4, 6, 3}, {64, 128, 256, 512}, 64, 256, true, false, 4, false, nullptr},
    // torchvision.models.detection.retinanet_resnet50_fpn_v2
    {"retinanet_resnet50_fpn_v2", BlockType::kBottleneck, {3, 4, 6, 3}, {64, 128, 256, 512}, 64, 256, false, true, 4, true, nullptr},
    // The project's default model: a narrow ResNet-18 body (16 to 128 channels instead of 64 to 512), FPN and
    // heads of 64 channels with two convs per subnet: about 25 ms per 640x480 frame on two CPU cores.
    {"retinanet_tiny_fpn", BlockType::kBasic, {2, 2, 2, 2}, {16, 32, 64, 128}, 16, 64, true, false, 2, true, tiny_defaults},
};

}  // namespace

std::array<int, 3> ArchSpec::returned_channels() const {
  const int e = block_expansion();
  return {stage_planes[1] * e, stage_planes[2] * e, stage_planes[3] * e};
}

const ArchSpec& find_arch(const std::string& name) {
  for (const ArchSpec& arch : kArchs)
    if (arch.name == name) return arch;
  std::string known;
  for (const std::string& n : known_arch_names()) known += (known.empty() ? "" : ", ") + n;
  throw ModelError("unknown architecture '" + name + "' (known: " + known + ")");
}

std::vector<std::string> known_arch_names() {
  std::vector<std::string> names;
  for (const ArchSpec& arch : kArchs) names.push_back(arch.name);
  return names;
}

ModelConfig default_config(const std::string& arch) {
  const ArchSpec& spec = find_arch(arch);
  ModelConfig config;
  config.arch = spec.name;
  if (spec.apply_defaults) spec.apply_defaults(config);
  return config;
}

}  // namespace retinanet
