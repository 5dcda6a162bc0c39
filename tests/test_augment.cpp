// Training augmentation (model/training/augment.h): boxes stay on the objects through flip, scale jitter and
// photometric distortion; --no-augment's options change nothing; the draws depend only on seed and index.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <set>

#include "model/inference/transform.h"
#include "model/network/arch.h"
#include "model/training/augment.h"
#include "model/training/train_sample.h"

namespace retinanet {
namespace {

ModelConfig small_config() {
  ModelConfig c = default_config("retinanet_tiny_fpn");
  c.min_size = 120;
  c.max_size = 200;
  return c;
}

// A bright rectangle on a dark, textured background.
cv::Mat scene(cv::Rect rect) {
  cv::Mat bgr(150, 200, CV_8UC3);
  cv::randu(bgr, 0, 40);
  cv::rectangle(bgr, rect, cv::Scalar(230, 200, 250), cv::FILLED);
  return bgr;
}

// The bounding box of the network input's bright pixels (channel mean above the midpoint of its range).
std::array<float, 4> bright_extent(const torch::Tensor& image) {
  const torch::Tensor m = image.mean(0);
  const torch::Tensor mask = m > (m.max() + m.min()) / 2;
  const torch::Tensor ys = mask.any(1).nonzero(), xs = mask.any(0).nonzero();
  return {xs.min().item<float>(), ys.min().item<float>(), xs.max().item<float>() + 1, ys.max().item<float>() + 1};
}

TEST(Augment, BoxesStayOnTheObject) {
  const ModelConfig config = small_config();
  const cv::Rect rect(40, 30, 70, 50);
  const cv::Mat bgr = scene(rect);
  const std::vector<LabeledBox> objects = {{1, float(rect.x), float(rect.y), float(rect.x + rect.width),
                                            float(rect.y + rect.height)}};
  std::set<int64_t> heights;
  int flips = 0, distorted = 0;
  for (uint64_t index = 0; index < 24; ++index) {
    const Augmentation aug = draw_augmentation(AugmentOptions{}, config.min_size, 5, index);
    flips += aug.hflip;
    distorted += aug.brightness != 1 || aug.contrast != 1 || aug.saturation != 1 || aug.hue != 0;
    ASSERT_GE(aug.short_side, 96);  // 0.8 * 120
    ASSERT_LE(aug.short_side, 120);
    const TrainSample s = make_train_sample(bgr, objects, config, aug);
    heights.insert(s.image.size(1));
    EXPECT_LE(std::max(s.image.size(1), s.image.size(2)), config.max_size);
    // 150x200: the short side decides below max_size (torchvision's float32 arithmetic may give 95 for 96).
    EXPECT_EQ(s.image.size(1), resized_size(150, 200, aug.short_side, config.max_size).first);
    EXPECT_NEAR(s.image.size(1), aug.short_side, 1);
    const auto seen = bright_extent(s.image);
    const torch::Tensor box = s.target.boxes[0];
    for (int k = 0; k < 4; ++k)
      EXPECT_NEAR(box[k].item<float>(), seen[k], 1.5) << "index " << index << " coordinate " << k;
  }
  EXPECT_GT(heights.size(), 5u) << "the short side does not vary";
  EXPECT_GT(flips, 4);
  EXPECT_LT(flips, 20);
  EXPECT_GT(distorted, 12);
}

TEST(Augment, DisabledChangesNothing) {
  const ModelConfig config = small_config();
  const cv::Mat bgr = scene(cv::Rect(10, 20, 60, 40));
  const std::vector<LabeledBox> objects = {{2, 10, 20, 70, 60}};
  AugmentOptions off;
  off.enabled = false;
  const TrainSample plain = make_train_sample(bgr, objects, config);
  for (uint64_t index = 0; index < 8; ++index) {
    const Augmentation aug = draw_augmentation(off, config.min_size, 3, index);
    const TrainSample s = make_train_sample(bgr, objects, config, aug);
    ASSERT_TRUE(torch::equal(s.image, plain.image)) << index;
    ASSERT_TRUE(torch::equal(s.target.boxes, plain.target.boxes)) << index;
  }
}

TEST(Augment, DeterministicPerSeedAndIndex) {
  const ModelConfig config = small_config();
  const cv::Mat bgr = scene(cv::Rect(50, 50, 80, 60));
  const std::vector<LabeledBox> objects = {{1, 50, 50, 130, 110}};
  int differ = 0;
  for (uint64_t index = 0; index < 8; ++index) {
    const Augmentation a = draw_augmentation(AugmentOptions{}, config.min_size, 11, index);
    const Augmentation b = draw_augmentation(AugmentOptions{}, config.min_size, 11, index);
    const Augmentation c = draw_augmentation(AugmentOptions{}, config.min_size, 12, index);
    const TrainSample sa = make_train_sample(bgr, objects, config, a), sb = make_train_sample(bgr, objects, config, b);
    ASSERT_TRUE(torch::equal(sa.image, sb.image));
    ASSERT_TRUE(torch::equal(sa.target.boxes, sb.target.boxes));
    const TrainSample sc = make_train_sample(bgr, objects, config, c);
    differ += !sa.image.sizes().equals(sc.image.sizes()) || !torch::equal(sa.image, sc.image);
  }
  EXPECT_GE(differ, 6) << "another seed should give other samples";
}

TEST(Augment, PhotometricFactorsAsTorchvision) {
  cv::Mat bgr(4, 4, CV_8UC3, cv::Scalar(40, 120, 200));
  Augmentation aug;
  EXPECT_EQ(photometric_distort(bgr, aug).data, bgr.data);  // nothing to do: the same pixels
  aug.brightness = 1.1;  // adjust_brightness: x * f
  cv::Vec3b p = photometric_distort(bgr, aug).at<cv::Vec3b>(0, 0);
  EXPECT_NEAR(p[0], 44, 1);
  EXPECT_NEAR(p[2], 220, 1);
  aug = {};
  aug.saturation = 0;  // adjust_saturation(0): the grey value, 0.2989 R + 0.587 G + 0.114 B
  p = photometric_distort(bgr, aug).at<cv::Vec3b>(0, 0);
  const double gray = 0.2989 * 200 + 0.587 * 120 + 0.114 * 40;
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(p[k], gray, 1);
  aug = {};
  aug.hue = 0.5;  // half the colour circle: the complementary hue, same value and saturation
  p = photometric_distort(bgr, aug).at<cv::Vec3b>(0, 0);
  EXPECT_NEAR(p[0], 200, 1);  // max and min swap places across the hue circle for this colour
  EXPECT_NEAR(p[2], 40, 1);
}

}  // namespace
}  // namespace retinanet
