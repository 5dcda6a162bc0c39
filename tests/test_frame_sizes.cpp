// Frames at the edges of the size range: thin ones (a side that torchvision would resize to 0 pixels) are analysed,
// stretched to 1 pixel across; huge ones are resized from their 8-bit pixels without a full-size float copy.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "model/inference/detector.h"
#include "model/inference/transform.h"
#include "tests/random_model.h"

namespace retinanet {
namespace {

using Size = std::pair<int64_t, int64_t>;  // (height, width)

// torchvision's GeneralizedRCNNTransform(800, 1333) processes 2x2000 and 2000x2, giving these image_sizes
// (computed with torchvision 0.14): ours are the same.
TEST(FrameSizes, ThinFramesTorchvisionResizesKeepItsSizes) {
  EXPECT_EQ(input_geometry(2, 2000, 800, 1333).resized, Size(1, 1333));
  EXPECT_EQ(input_geometry(2000, 2, 800, 1333).resized, Size(1333, 1));
  EXPECT_EQ(input_geometry(2, 2000, 800, 1333).padded, Size(32, 1344));
}

// At (128, 213) torchvision refuses 2x2000 ("output sizes should be greater than 0": floor(2 * 0.1065) is 0);
// the thin side becomes 1 pixel.
TEST(FrameSizes, ThinFramesTorchvisionRefusesAreStretchedTo1Pixel) {
  EXPECT_EQ(input_geometry(2, 2000, 128, 213).resized, Size(1, 213));
  EXPECT_EQ(input_geometry(2000, 2, 128, 213).resized, Size(213, 1));
}

class FrameSizesDetector : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new testing::RandomModelDetector("frame_sizes", 7);
    detector_ = &model_->detector();
  }
  static void TearDownTestSuite() { delete model_; }
  static testing::RandomModelDetector* model_;
  static Detector* detector_;
};
testing::RandomModelDetector* FrameSizesDetector::model_ = nullptr;
Detector* FrameSizesDetector::detector_ = nullptr;

// Both orientations run through the network; boxes stay inside the frame.
TEST_F(FrameSizesDetector, ThinFramesAreAnalysed) {
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{2000, 2}, {2, 2000}}) {
    const testing::RandomFrame frame = testing::random_frame(w, h, 3);
    Detections found;
    ASSERT_NO_THROW(found = detector_->detect(frame.view())) << w << "x" << h;
    for (const Detection& d : found) {
      EXPECT_GE(d.x1, 0.f);
      EXPECT_GE(d.y1, 0.f);
      EXPECT_LE(d.x2, static_cast<float>(w) + 1e-3f);
      EXPECT_LE(d.y2, static_cast<float>(h) + 1e-3f);
    }
  }
}

// The direct resize (forced on small frames) against torchvision's normalise-then-resize, every pixel format.
TEST(FrameSizes, DirectResizeEqualsTheExactPath) {
  const std::vector<float> mean = {0.485f, 0.456f, 0.406f}, std = {0.229f, 0.224f, 0.225f};
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{333, 250}, {61, 97}, {2000, 2}}) {
    const testing::RandomFrame frame = testing::random_frame(w, h, 5);
    const torch::Tensor exact = preprocess_frame(frame.view(), mean, std, 128, 213);
    const torch::Tensor direct = preprocess_frame(frame.view(), mean, std, 128, 213, /*direct_above_pixels=*/0);
    ASSERT_EQ(direct.sizes(), exact.sizes());
    EXPECT_LE((direct - exact).abs().max().item<float>(), 1e-5f) << w << "x" << h;
  }
}

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// A 8192x8192 RGB frame (192 MiB) through the detector: the old path held 1.5 GiB of float copies of it.
TEST_F(FrameSizesDetector, HugeFramesNeedNoFullSizeFloatCopy) {
  torch::Tensor pixels = torch::full({8192, 8192, 3}, 100, torch::kUInt8);  // every page touched
  const ImageView view = ImageView::packed(PixelFormat::kRGB, 8192, 8192, pixels.data_ptr<uint8_t>(), 8192 * 3);
  const long before = max_rss_kib();
  ASSERT_NO_THROW(detector_->detect(view));
  const long grown_mib = (max_rss_kib() - before) / 1024;
  EXPECT_LT(grown_mib, 200) << "peak memory grew by " << grown_mib << " MiB";
}

}  // namespace
}  // namespace retinanet
