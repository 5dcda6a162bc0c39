// Detector::detect_batch: each frame of a batch gets the detections it gets alone, whatever else is in the batch
// (frames of the same size, of mixed sizes, with thresholds of their own).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/model_error.h"
#include "model/inference/detector.h"
#include "tests/detection_match.h"
#include "tests/random_model.h"

namespace retinanet {
namespace {

using testing::unmatched;

// A random torchvision v1 model (tests/random_model.h), small input sizes: hundreds of boxes per frame to compare.
class Batch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new testing::RandomModelDetector("batch", 5);
    detector_ = &model_->detector();
  }
  static void TearDownTestSuite() { delete model_; }

  using Frame = testing::RandomFrame;
  static Frame frame(int w, int h, int seed) { return testing::random_frame(w, h, seed); }

  // `got` equals `want`: the same count and one-to-one matches (scores within 1e-4, IoU above 0.999), away from
  // the threshold's edge.
  static void expect_same(const Detections& want, const Detections& got, float threshold, const std::string& what) {
    ASSERT_GE(want.size(), 20u) << what << ": the random model should detect many boxes";
    EXPECT_EQ(unmatched(want, got, threshold + 1e-4f, 1e-4f, 0.999f), "") << what << ": missing from the batch";
    EXPECT_EQ(unmatched(got, want, threshold + 1e-4f, 1e-4f, 0.999f), "") << what << ": only in the batch";
  }

  static testing::RandomModelDetector* model_;
  static Detector* detector_;
};
testing::RandomModelDetector* Batch::model_ = nullptr;
Detector* Batch::detector_ = nullptr;

TEST_F(Batch, SameSizeFramesEqualTheirSingleDetections) {
  const std::vector<Frame> frames = {frame(120, 90, 1), frame(120, 90, 2), frame(120, 90, 3), frame(120, 90, 4)};
  std::vector<ImageView> views;
  for (const Frame& f : frames) views.push_back(f.view());
  const std::vector<Detections> batched = detector_->detect_batch(views);
  ASSERT_EQ(batched.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i)
    expect_same(detector_->detect(views[i]), batched[i], 0.05f, "frame " + std::to_string(i));
}

TEST_F(Batch, MixedSizesKeepTheirOrderAndDetections) {
  // Two sizes interleaved, one of them odd and not a multiple of 32 once resized.
  const std::vector<Frame> frames = {frame(120, 90, 5), frame(77, 131, 6), frame(120, 90, 7), frame(77, 131, 8),
                                     frame(200, 60, 9)};
  std::vector<ImageView> views;
  for (const Frame& f : frames) views.push_back(f.view());
  const std::vector<Detections> batched = detector_->detect_batch(views);
  ASSERT_EQ(batched.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    expect_same(detector_->detect(views[i]), batched[i], 0.05f, "frame " + std::to_string(i));
    for (const Detection& d : batched[i]) {
      EXPECT_LE(d.x2, views[i].width + 1e-3f) << "frame " << i << "'s boxes in its own pixels";
      EXPECT_LE(d.y2, views[i].height + 1e-3f) << "frame " << i << "'s boxes in its own pixels";
    }
  }
}

TEST_F(Batch, ThresholdsPerFrame) {
  const Frame a = frame(120, 90, 10), b = frame(120, 90, 11);
  const std::vector<Thresholds> thresholds = {{0.3f, 0.4f, 7, {}, false}, {-1, -1, 0, {}, false}};
  const std::vector<Detections> batched = detector_->detect_batch({a.view(), b.view(), a.view()},
                                                                  {thresholds[0], thresholds[1], thresholds[1]});
  ASSERT_EQ(batched.size(), 3u);
  EXPECT_LE(batched[0].size(), 7u);
  for (const Detection& d : batched[0]) EXPECT_GE(d.score, 0.3f);
  // The model file's settings for the other two, the same frame as the first at the file's threshold.
  expect_same(detector_->detect(b.view()), batched[1], 0.05f, "frame b");
  expect_same(detector_->detect(a.view()), batched[2], 0.05f, "frame a, the file's thresholds");
  // The first equals a detector set to its thresholds.
  detector_->set_thresholds(0.3f, 0.4f, 7);
  const Detections alone = detector_->detect(a.view());
  detector_->set_thresholds(-1, -1, 0);
  ASSERT_EQ(alone.size(), batched[0].size());
  EXPECT_EQ(unmatched(alone, batched[0], 0.3f, 1e-4f, 0.999f), "");
  EXPECT_THROW(detector_->detect_batch({a.view()}, {Thresholds{1.5f, -1, 0, {}, false}}), ModelError);
  EXPECT_THROW(detector_->detect_batch({a.view()}, {}), ModelError);
}

TEST_F(Batch, EmptyBatchAndBadFrame) {
  EXPECT_TRUE(detector_->detect_batch(std::vector<ImageView>{}).empty());
  const Frame a = frame(64, 48, 12);
  EXPECT_THROW(detector_->detect_batch({a.view(), ImageView::packed(PixelFormat::kRGB, 0, 0, nullptr, 0)}), ModelError);
}

}  // namespace
}  // namespace retinanet
