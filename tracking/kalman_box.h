// A box moving at constant velocity, estimated by a Kalman filter (OpenCV's cv::KalmanFilter), as SORT and
// ByteTrack track them. State [cx, cy, a, h, vcx, vcy, va, vh] (box centre, aspect ratio w/h, height, and their
// velocities per frame); measurement [cx, cy, a, h]. Noise follows ByteTrack's `KalmanFilter` (yolox/tracker/
// kalman_filter.py): standard deviations proportional to the box height, so the filter behaves the same for
// small and large objects.
#pragma once

#include <opencv2/video/tracking.hpp>

#include "tracking/box.h"

namespace retinanet::tracking {

// Standard deviations as fractions of the box height (per frame for velocities).
struct KalmanSettings {
  double position_weight = 1.0 / 20;  // ByteTrack's _std_weight_position: measurement and position process noise
  double velocity_weight = 1.0 / 160; // ByteTrack's _std_weight_velocity: velocity process noise per frame
  // Uncertainty of the velocity of a new track, which no measurement has shown yet. ByteTrack uses 10/160 of the
  // height per frame, for pedestrians at 30 frames/s; a prior of a quarter of the object's height per frame lets a
  // track's second detection arrive several frames later (a detector run every Nth frame) from a fast object.
  double initial_velocity_weight = 1.0 / 4;
};

// The squared Mahalanobis distance under which a measurement is plausible: the chi-square 0.95 quantile for
// 3 degrees of freedom (DeepSORT's chi2inv95[3]), the gate of gating_distance().
constexpr double kGate95 = 7.8147;

class BoxKalman {
 public:
  BoxKalman(const Box& box, const KalmanSettings& settings);

  // One frame on: x <- F x, P <- F P F^T + Q.
  void predict();
  // Corrects the state with a measured box.
  void update(const Box& box);
  // The box of the current state estimate.
  Box box() const;
  // The squared Mahalanobis distance of `box`'s centre and height from the state's projection (3 degrees of
  // freedom). The aspect ratio is left out, as DeepSORT's `only_position` leaves out aspect and height: it is
  // the noisiest part of a detected box (a turning object changes it from frame to frame).
  double gating_distance(const Box& box) const;

  // State mean [8] and covariance [8, 8], for tests and diagnostics.
  const cv::Mat& mean() const { return filter_.statePost; }
  const cv::Mat& covariance() const { return filter_.errorCovPost; }

 private:
  cv::Mat measurement_noise() const;  // R [4, 4] for the current height

  KalmanSettings settings_;
  cv::KalmanFilter filter_;
};

}  // namespace retinanet::tracking
