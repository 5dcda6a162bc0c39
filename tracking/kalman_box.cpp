#include "tracking/kalman_box.h"

#include <algorithm>
#include <cmath>

namespace retinanet::tracking {

namespace {

constexpr int kState = 8, kMeasure = 4;

// A box as the measurement [cx, cy, a, h], [4, 1]; a degenerate box gets a tiny positive height.
cv::Mat to_measurement(const Box& b) {
  const double h = std::max<double>(b.height(), 1e-3);
  cv::Mat z(kMeasure, 1, CV_64F);
  z.at<double>(0) = b.cx();
  z.at<double>(1) = b.cy();
  z.at<double>(2) = std::max<double>(b.width(), 0) / h;
  z.at<double>(3) = h;
  return z;
}

cv::Mat diagonal(std::initializer_list<double> stds) {
  cv::Mat m = cv::Mat::zeros(static_cast<int>(stds.size()), static_cast<int>(stds.size()), CV_64F);
  int i = 0;
  for (double s : stds) {
    m.at<double>(i, i) = s * s;
    ++i;
  }
  return m;
}

}  // namespace

BoxKalman::BoxKalman(const Box& box, const KalmanSettings& settings)
    : settings_(settings), filter_(kState, kMeasure, 0, CV_64F) {
  // F: position += velocity (one frame); H: the measurement is the first four state components.
  filter_.transitionMatrix = cv::Mat::eye(kState, kState, CV_64F);
  for (int i = 0; i < kMeasure; ++i) filter_.transitionMatrix.at<double>(i, kMeasure + i) = 1;
  filter_.measurementMatrix = cv::Mat::eye(kMeasure, kState, CV_64F);
  const cv::Mat z = to_measurement(box);
  filter_.statePost = cv::Mat::zeros(kState, 1, CV_64F);
  z.copyTo(filter_.statePost.rowRange(0, kMeasure));
  // ByteTrack's initiate(): twice the measurement noise for the position, a broad prior for the velocity.
  const double h = z.at<double>(3), p = settings_.position_weight * h, v = settings_.initial_velocity_weight * h;
  filter_.errorCovPost = diagonal({2 * p, 2 * p, 1e-2, 2 * p, v, v, 1e-5, v});
}

void BoxKalman::predict() {
  const double h = filter_.statePost.at<double>(3);
  const double p = settings_.position_weight * h, v = settings_.velocity_weight * h;
  filter_.processNoiseCov = diagonal({p, p, 1e-2, p, v, v, 1e-5, v});
  filter_.predict();  // OpenCV copies the prediction into statePost/errorCovPost as well
  // A box cannot shrink through zero: a shrinking track keeps a positive height.
  double& height = filter_.statePost.at<double>(3);
  height = std::max(height, 1e-3);
}

cv::Mat BoxKalman::measurement_noise() const {
  const double p = settings_.position_weight * filter_.statePost.at<double>(3);
  return diagonal({p, p, 1e-1, p});
}

void BoxKalman::update(const Box& box) {
  filter_.measurementNoiseCov = measurement_noise();
  // correct() starts from statePre/errorCovPre: make them the current estimate (predict() may not have run).
  filter_.statePost.copyTo(filter_.statePre);
  filter_.errorCovPost.copyTo(filter_.errorCovPre);
  filter_.correct(to_measurement(box));
}

Box BoxKalman::box() const {
  const cv::Mat& x = filter_.statePost;
  const double cx = x.at<double>(0), cy = x.at<double>(1), h = std::max(x.at<double>(3), 1e-3);
  const double w = std::max(x.at<double>(2), 0.0) * h;
  return Box{static_cast<float>(cx - w / 2), static_cast<float>(cy - h / 2), static_cast<float>(cx + w / 2),
             static_cast<float>(cy + h / 2)};
}

double BoxKalman::gating_distance(const Box& box) const {
  // H picks cx, cy and h out of the state: [3, 8].
  cv::Mat H = cv::Mat::zeros(3, kState, CV_64F);
  H.at<double>(0, 0) = H.at<double>(1, 1) = H.at<double>(2, 3) = 1;
  const double p = settings_.position_weight * filter_.statePost.at<double>(3);
  const cv::Mat S = H * filter_.errorCovPost * H.t() + diagonal({p, p, p});
  const cv::Mat z = to_measurement(box);
  cv::Mat y(3, 1, CV_64F);
  y.at<double>(0) = z.at<double>(0) - filter_.statePost.at<double>(0);
  y.at<double>(1) = z.at<double>(1) - filter_.statePost.at<double>(1);
  y.at<double>(2) = z.at<double>(3) - filter_.statePost.at<double>(3);
  cv::Mat solved;
  cv::solve(S, y, solved, cv::DECOMP_CHOLESKY);
  return y.dot(solved);
}

}  // namespace retinanet::tracking
