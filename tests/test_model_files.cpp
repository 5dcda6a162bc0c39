// Loading model files into the detector: what is accepted, what is refused and with which message, and the
// colour orders of the frame.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <tuple>

#include "model/inference/detector.h"
#include "common/model_error.h"
#include "model/network/retinanet.h"
#include "model/files/model_source.h"
#include "model/files/safetensors.h"

namespace retinanet {
namespace {

using Tensors = std::vector<std::pair<std::string, torch::Tensor>>;

class ModelFiles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    torch::manual_seed(3);
    ModelConfig config;
    config.num_classes = 4;
    config.labels = {"", "circle", "square", "triangle"};
    config.min_size = 96;
    config.max_size = 160;
    config.score_thresh = 0.01f;
    RetinaNet net(config);
    tensors_ = new Tensors(net->named_tensors());
    metadata_ = new std::map<std::string, std::string>(config.to_metadata());
  }
  static void TearDownTestSuite() {
    delete tensors_;
    delete metadata_;
  }
  void TearDown() override {
    for (const std::string& p : written_) std::remove(p.c_str());
  }

  std::string write(const std::string& name, const Tensors& tensors, const std::map<std::string, std::string>& meta) {
    const std::string path = ::testing::TempDir() + "retinanet_" + std::to_string(getpid()) + "_" + name;
    write_safetensors(path, tensors, meta);
    written_.push_back(path);
    return path;
  }
  std::string good_file() { return write("good.safetensors", *tensors_, *metadata_); }

  static void expect_refused(const DetectorOptions& options, const std::string& fragment) {
    try {
      Detector detector(options);
      FAIL() << "accepted";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
          << "message: " << e.what() << "\nexpected: " << fragment;
    }
  }
  DetectorOptions options_for(const std::string& path) {
    DetectorOptions o;
    o.weights = path;
    o.device = "cpu";
    return o;
  }

  static Tensors* tensors_;
  static std::map<std::string, std::string>* metadata_;
  std::vector<std::string> written_;
};
Tensors* ModelFiles::tensors_ = nullptr;
std::map<std::string, std::string>* ModelFiles::metadata_ = nullptr;

TEST_F(ModelFiles, LoadsAndTakesSettingsFromMetadata) {
  Detector detector(options_for(good_file()));
  EXPECT_EQ(detector.config().num_classes, 4);
  EXPECT_EQ(detector.config().min_size, 96);
  EXPECT_EQ(detector.config().label_name(2), "square");
  EXPECT_EQ(detector.device(), "cpu");
}

TEST_F(ModelFiles, OptionsOverrideTheFile) {
  DetectorOptions o = options_for(good_file());
  o.min_size = 64;
  o.score_threshold = 0.3f;
  o.max_detections = 7;
  Detector detector(o);
  EXPECT_EQ(detector.config().min_size, 64);
  EXPECT_FLOAT_EQ(detector.config().score_thresh, 0.3f);
  EXPECT_EQ(detector.config().detections_per_img, 7);
}

TEST_F(ModelFiles, RefusesMissingTensor) {
  Tensors t = *tensors_;
  t.erase(std::find_if(t.begin(), t.end(), [](auto& p) { return p.first == "head.regression_head.bbox_reg.bias"; }));
  expect_refused(options_for(write("missing.safetensors", t, *metadata_)),
                 "missing tensor 'head.regression_head.bbox_reg.bias'");
}

TEST_F(ModelFiles, RefusesExtraTensor) {
  Tensors t = *tensors_;
  t.emplace_back("head.extra.weight", torch::zeros({2}));
  expect_refused(options_for(write("extra.safetensors", t, *metadata_)), "unexpected tensor 'head.extra.weight'");
}

TEST_F(ModelFiles, RefusesWrongShapeNamingTheTensor) {
  Tensors t = *tensors_;
  for (auto& [name, tensor] : t)
    if (name == "head.classification_head.cls_logits.weight") tensor = torch::zeros({9 * 5, 256, 3, 3});
  expect_refused(options_for(write("shape.safetensors", t, *metadata_)),
                 "tensor 'head.classification_head.cls_logits.weight' has shape [45, 256, 3, 3], expected [36, 256, 3, 3]");
}

TEST_F(ModelFiles, RefusesTensorsOfAnotherArchitecture) {
  auto meta = *metadata_;
  meta["arch"] = "retinanet_resnet50_fpn_v2";
  // v2 heads have GroupNorm and no conv biases: the first difference is a missing GroupNorm weight or an extra bias.
  expect_refused(options_for(write("otherarch.safetensors", *tensors_, meta)), "architecture 'retinanet_resnet50_fpn_v2'");
}

TEST_F(ModelFiles, RefusesUnknownArchitecture) {
  auto meta = *metadata_;
  meta["arch"] = "resnet9000";
  expect_refused(options_for(write("arch.safetensors", *tensors_, meta)), "unknown architecture 'resnet9000'");
}

TEST_F(ModelFiles, RefusesMalformedMetadata) {
  auto meta = *metadata_;
  meta["num_classes"] = "three";
  expect_refused(options_for(write("meta.safetensors", *tensors_, meta)), "metadata 'num_classes' is not valid JSON");
  meta = *metadata_;
  meta["labels"] = "[\"a\", \"b\"]";
  expect_refused(options_for(write("labels.safetensors", *tensors_, meta)), "labels has 2 names for num_classes 4");
}

// Metadata that parses but makes no sense: refused at load with one line naming the field and its range (each of
// these loaded before and ran with exit 0 and wrong output, or failed on every frame, or was undefined behaviour).
TEST_F(ModelFiles, RefusesMetadataOutsideItsRange) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"num_classes", "4294967300", "metadata 'num_classes' must be an integer in [1, 100000], got 4294967300"},
      {"num_classes", "4.9", "metadata 'num_classes' must be an integer in [1, 100000], got 4.9"},
      {"num_classes", "1e10", "metadata 'num_classes' must be an integer in [1, 100000]"},
      {"num_classes", "1000000", "metadata 'num_classes' must be an integer in [1, 100000], got 1000000"},
      {"min_size", "100000", "metadata 'min_size' must be an integer in [1, 4096], got 100000"},
      {"max_size", "2147483647", "metadata 'max_size' must be an integer in [1, 4096]"},
      {"max_size", "0", "metadata 'max_size' must be an integer in [1, 4096]"},
      {"detections_per_img", "-3", "metadata 'detections_per_img' must be an integer in [1, 100000]"},
      {"topk_candidates", "\"10\"", "metadata 'topk_candidates' must be an integer"},
      {"score_thresh", "-0.1", "metadata 'score_thresh' must be a number in [0, 1], got -0.1"},
      {"score_thresh", "1e39", "metadata 'score_thresh' must be a number in [0, 1], got 1e39"},
      {"nms_thresh", "-1", "metadata 'nms_thresh' must be a number in [0, 1]"},
      {"image_std", "[0.2, 0, 0.2]", "metadata 'image_std' must be a number in [1e-06, 1000000]"},
      {"image_std", "[0.2, 1e-40, 0.2]", "metadata 'image_std' must be a number in [1e-06, 1000000]"},
      {"image_std", "[0.2, 0.2]", "metadata 'image_std' must be 3 numbers"},
      {"image_mean", "[0.4, 1e300, 0.4]", "metadata 'image_mean' must be a number in [-1000, 1000]"},
      {"aspect_ratios", "[0.5, 0, 2]", "metadata 'aspect_ratios' must be a number above 0 and in [0, 1000]"},
      {"aspect_ratios", "[-1]", "metadata 'aspect_ratios' must be a number above 0"},
      {"aspect_ratios", "[]", "metadata 'aspect_ratios' must be a non-empty list of numbers"},
      {"anchor_sizes", "[[32], [64], [0], [256], [512]]", "metadata 'anchor_sizes' must be a number above 0"},
      {"anchor_sizes", "[[-32], [64], [128], [256], [512]]", "metadata 'anchor_sizes' must be a number above 0"},
      {"anchor_sizes", "[[], [], [], [], []]", "metadata 'anchor_sizes' must be 5 non-empty lists"},
      {"anchor_sizes", "[[32], [64]]", "metadata 'anchor_sizes' must be 5 lists"},
      {"labels", "[1, 2, 3, 4]", "metadata 'labels' must be a list of names"},
  };
  for (const auto& [key, value, fragment] : cases) {
    SCOPED_TRACE(key + " = " + value);
    auto meta = *metadata_;
    meta[key] = value;
    try {
      ModelConfig::from_metadata(meta);
      ADD_FAILURE() << "accepted";
    } catch (const ModelError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(fragment), std::string::npos) << "message: " << what << "\nexpected: " << fragment;
      EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
    }
  }
}

// The predictors' shapes are compared with the metadata before the network is built: 20000 classes would first
// allocate and initialise a 1.7 GB class predictor that the file's [36, 256, 3, 3] tensor cannot fill.
TEST_F(ModelFiles, RefusesTooManyClassesBeforeBuildingTheNetwork) {
  auto meta = *metadata_;
  meta["num_classes"] = "20000";
  meta.erase("labels");
  expect_refused(options_for(write("classes.safetensors", *tensors_, meta)),
                 "tensor 'head.classification_head.cls_logits.weight' has shape [36, 256, 3, 3], expected "
                 "[180000, 256, 3, 3] (metadata 'num_classes' 20000, 9 anchors per location");
}

TEST_F(ModelFiles, RefusesNonFiniteWeightsAndNonPositiveVariances) {
  const std::vector<std::tuple<std::string, float, std::string>> cases = {
      {"backbone.body.layer1.0.conv1.weight", NAN, "holds NaN or infinite values"},
      {"head.regression_head.bbox_reg.bias", INFINITY, "holds NaN or infinite values"},
      {"backbone.body.bn1.running_var", 0.0f, "has a batch-norm variance of 0 or below"},
      {"backbone.body.layer2.0.bn2.running_var", -1.0f, "has a batch-norm variance of 0 or below"},
  };
  for (const auto& [name, value, fragment] : cases) {
    SCOPED_TRACE(name);
    Tensors tensors;
    for (const auto& [n, t] : *tensors_) tensors.emplace_back(n, n == name ? t.clone() : t);
    bool found = false;
    for (auto& [n, t] : tensors)
      if (n == name) {
        t.view(-1)[t.numel() / 2] = value;
        found = true;
      }
    ASSERT_TRUE(found);
    expect_refused(options_for(write("values.safetensors", tensors, *metadata_)), "tensor '" + name + "' " + fragment);
  }
}

TEST_F(ModelFiles, RefusesBadDeviceAndThresholds) {
  DetectorOptions o = options_for(good_file());
  o.device = "tpu";
  expect_refused(o, "unknown device 'tpu'");
  o.device = "cpu";
  o.score_threshold = 1.5f;
  expect_refused(o, "thresholds must lie in [0, 1]");
}

// A GPU asked for where there is none to run on: one line saying why, and on a LibTorch without CUDA (Debian's),
// how to build the GPU path. device=auto falls back to the CPU.
TEST_F(ModelFiles, CudaWithoutAGpuSaysWhy) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "this machine has a CUDA device";
  DetectorOptions o = options_for(good_file());
  const std::string why = has_gpu_path() ? "no CUDA device is present"
                                           : "this build's LibTorch has no CUDA; build the GPU path with "
                                             "scripts/build-cuda.sh";
  for (const std::string device : {"cuda", "cuda:0", "cuda:1"}) {
    o.device = device;
    expect_refused(o, "device '" + device + "' requested but " + why);
  }
  o.device = "auto";
  EXPECT_EQ(Detector(o).device(), "cpu");
  o.device = "cpu";
  o.half = true;
  expect_refused(o, "half (float16) runs on a CUDA device only");
}

TEST_F(ModelFiles, RefusesNoModel) {
  if (has_default_model()) GTEST_SKIP() << "this build embeds a default model";
  DetectorOptions o;
  expect_refused(o, "no model given");
}

TEST_F(ModelFiles, AllPackedColourOrdersGiveTheSameDetections) {
  Detector detector(options_for(good_file()));
  const int w = 75, h = 53;
  torch::manual_seed(11);
  const torch::Tensor rgb = torch::randint(0, 256, {h, w, 3}, torch::kUInt8);
  const torch::Tensor bgr = rgb.flip(2).contiguous();
  const torch::Tensor pad = torch::full({h, w, 1}, 77, torch::kUInt8);
  const torch::Tensor rgbx = torch::cat({rgb, pad}, 2).contiguous();
  const torch::Tensor bgra = torch::cat({bgr, pad}, 2).contiguous();
  auto run = [&](PixelFormat f, const torch::Tensor& t) {
    return detector.detect(ImageView::packed(f, w, h, t.data_ptr<uint8_t>(), static_cast<size_t>(t.stride(0))));
  };
  const auto reference = run(PixelFormat::kRGB, rgb);
  ASSERT_FALSE(reference.empty()) << "the random model should detect something at threshold 0.01";
  for (const auto& [format, pixels] : {std::pair{PixelFormat::kBGR, bgr}, std::pair{PixelFormat::kRGBx, rgbx},
                                       std::pair{PixelFormat::kBGRA, bgra}}) {
    const auto got = run(format, pixels);
    ASSERT_EQ(got.size(), reference.size()) << pixel_format_name(format);
    // Every field: the same pixels in another order are the same network input, bit for bit.
    for (size_t i = 0; i < got.size(); ++i) {
      SCOPED_TRACE(std::string(pixel_format_name(format)) + " detection " + std::to_string(i));
      EXPECT_EQ(got[i].label, reference[i].label);
      EXPECT_EQ(got[i].name, reference[i].name);
      EXPECT_EQ(got[i].score, reference[i].score);
      EXPECT_EQ(got[i].x1, reference[i].x1);
      EXPECT_EQ(got[i].y1, reference[i].y1);
      EXPECT_EQ(got[i].x2, reference[i].x2);
      EXPECT_EQ(got[i].y2, reference[i].y2);
    }
  }
  // Boxes stay inside the frame and scores are sorted.
  for (size_t i = 0; i < reference.size(); ++i) {
    EXPECT_GE(reference[i].x1, 0);
    EXPECT_LE(reference[i].x2, w);
    EXPECT_LE(reference[i].y2, h);
    if (i) {
      EXPECT_LE(reference[i].score, reference[i - 1].score);
    }
  }
}

TEST_F(ModelFiles, RefusesEmptyFrame) {
  Detector detector(options_for(good_file()));
  EXPECT_THROW(detector.detect(ImageView::packed(PixelFormat::kRGB, 0, 0, nullptr, 0)), ModelError);
}

}  // namespace
}  // namespace retinanet
