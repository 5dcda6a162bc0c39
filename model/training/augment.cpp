#include "model/training/augment.h"

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <random>
#include <vector>

namespace retinanet {

Augmentation draw_augmentation(const AugmentOptions& options, int min_size, uint64_t seed, uint64_t index) {
  Augmentation aug;
  if (!options.enabled) return aug;
  std::mt19937_64 rng(seed ^ (index * 0x9E3779B97F4A7C15ull));
  aug.hflip = rng() & 1;
  auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  const int lo = std::max(1, static_cast<int>(std::lround(options.min_scale * min_size)));
  aug.short_side = std::uniform_int_distribution<int>(std::min(lo, min_size), min_size)(rng);
  if (!options.photometric) return aug;
  // RandomPhotometricDistort: seven coins (the last, a channel permutation, left out: it would swap the colours that
  // tell classes apart in data like the shapes').
  double r[6];
  for (double& v : r) v = uniform(0, 1);
  const double brightness = uniform(kBrightness[0], kBrightness[1]);
  const double contrast = uniform(kContrast[0], kContrast[1]);
  const double saturation = uniform(kSaturation[0], kSaturation[1]);
  const double hue = uniform(kHue[0], kHue[1]);
  if (r[0] < 0.5) aug.brightness = brightness;
  aug.contrast_first = r[1] < 0.5;
  if ((aug.contrast_first ? r[2] : r[5]) < 0.5) aug.contrast = contrast;
  if (r[3] < 0.5) aug.saturation = saturation;
  if (r[4] < 0.5) aug.hue = hue;
  return aug;
}

namespace {

// torchvision's rgb_to_grayscale weights, for BGR.
cv::Mat grayscale(const cv::Mat& bgr) {
  cv::Mat gray;
  cv::transform(bgr, gray, cv::Matx13f(0.114f, 0.587f, 0.2989f));
  return gray;
}

// _blend: ratio * a + (1 - ratio) * b, clamped to [0, 1].
void blend(cv::Mat& img, const cv::Mat& other, double ratio) {
  cv::addWeighted(img, ratio, other, 1 - ratio, 0, img);
  cv::min(cv::max(img, 0.0), 1.0, img);
}

void adjust_contrast(cv::Mat& img, double factor) {
  const cv::Scalar mean = cv::mean(grayscale(img));
  blend(img, cv::Mat(img.size(), img.type(), cv::Scalar::all(mean[0])), factor);
}

}  // namespace

cv::Mat photometric_distort(const cv::Mat& bgr, const Augmentation& aug) {
  if (aug.brightness == 1 && aug.contrast == 1 && aug.saturation == 1 && aug.hue == 0) return bgr;
  cv::Mat img;
  bgr.convertTo(img, CV_32FC3, 1.0 / 255);
  if (aug.brightness != 1) blend(img, cv::Mat::zeros(img.size(), img.type()), aug.brightness);
  if (aug.contrast_first && aug.contrast != 1) adjust_contrast(img, aug.contrast);
  if (aug.saturation != 1) {
    cv::Mat gray;
    cv::cvtColor(grayscale(img), gray, cv::COLOR_GRAY2BGR);
    blend(img, gray, aug.saturation);
  }
  if (aug.hue != 0) {
    // Hue is a fraction of the colour circle (torchvision's [-0.5, 0.5]); OpenCV's float HSV has H in degrees.
    cv::Mat hsv;
    cv::cvtColor(img, hsv, cv::COLOR_BGR2HSV);
    std::vector<cv::Mat> channels;
    cv::split(hsv, channels);
    cv::Mat& h = channels[0];
    h += aug.hue * 360;
    cv::Mat below = h < 0, above = h >= 360;
    cv::add(h, cv::Scalar(360), h, below);
    cv::subtract(h, cv::Scalar(360), h, above);
    cv::merge(channels, hsv);
    cv::cvtColor(hsv, img, cv::COLOR_HSV2BGR);
    cv::min(cv::max(img, 0.0), 1.0, img);
  }
  if (!aug.contrast_first && aug.contrast != 1) adjust_contrast(img, aug.contrast);
  cv::Mat out;
  img.convertTo(out, CV_8UC3, 255);
  return out;
}

}  // namespace retinanet
