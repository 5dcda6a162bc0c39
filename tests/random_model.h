// A model file of random torchvision weights for tests, with its class logits spread (random weights score every
// anchor about the prior 0.01: a sea of near-ties that float rounding reorders), so that frames get hundreds of
// distinct detections to compare.
#pragma once

#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/image.h"
#include "model/files/safetensors.h"
#include "model/inference/detector.h"
#include "model/network/retinanet.h"

namespace retinanet::testing {

// Writes the model to a file in the test's temporary directory and returns its path; `config` gives the
// architecture, classes, sizes and thresholds.
inline std::string write_random_model(const std::string& name, const ModelConfig& config, uint64_t seed) {
  torch::manual_seed(seed);
  RetinaNet net(config);
  auto tensors = net->named_tensors();
  for (auto& [tensor_name, t] : tensors) {
    if (tensor_name == "head.classification_head.cls_logits.weight") t = t * 40;
    else if (tensor_name == "head.classification_head.cls_logits.bias") t = torch::full_like(t, -2.0);
  }
  const std::string path = ::testing::TempDir() + "retinanet_" + name + "_" + std::to_string(getpid()) + ".safetensors";
  write_safetensors(path, tensors, config.to_metadata());
  return path;
}

// The small v1 configuration the tests use: 5 classes, 96 to 160 pixels.
inline ModelConfig small_test_config() {
  ModelConfig config;
  config.num_classes = 5;
  config.min_size = 96;
  config.max_size = 160;
  config.score_thresh = 0.05f;
  return config;
}

// A random RGB frame that owns its pixels.
struct RandomFrame {
  torch::Tensor pixels;  // [H, W, 3] uint8
  ImageView view() const {
    return ImageView::packed(PixelFormat::kRGB, static_cast<int>(pixels.size(1)), static_cast<int>(pixels.size(0)),
                             pixels.data_ptr<uint8_t>(), static_cast<size_t>(pixels.stride(0)));
  }
};
inline RandomFrame random_frame(int w, int h, int seed) {
  torch::manual_seed(seed);
  return {torch::randint(0, 256, {h, w, 3}, torch::kUInt8)};
}

// A test suite's random model (small_test_config()) and a CPU detector on it; the file goes with it.
class RandomModelDetector {
 public:
  RandomModelDetector(const std::string& name, uint64_t seed)
      : path_(write_random_model(name, small_test_config(), seed)), detector_(options()) {}
  ~RandomModelDetector() { std::remove(path_.c_str()); }
  DetectorOptions options() const {
    DetectorOptions o;
    o.weights = path_;
    o.device = "cpu";
    return o;
  }
  Detector& detector() { return detector_; }

 private:
  std::string path_;
  Detector detector_;
};

}  // namespace retinanet::testing
