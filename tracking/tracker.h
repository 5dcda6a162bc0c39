// Multi-object tracking by detection in the manner of ByteTrack (Zhang et al., 2022, yolox/tracker/
// byte_tracker.py), with SORT's constant-velocity Kalman filter per track: plain C++, no GStreamer. The element
// retinanettrack feeds it one call per frame: update() with the frame's fresh detections, or predict() on a
// frame that has none (the detector skipped it), which moves every track on by one frame.
//
// Detectors with per-class NMS (torchvision's RetinaNet among them) often report one object twice, as two
// classes; of detections overlapping at IoU >= duplicate_iou only the most confident takes part (the others
// keep no id), so that two tracks do not take turns on one object.
//
// Association on a frame with detections, each stage an optimal assignment (tracking/assignment.h) on what the
// stages before it left:
//   1. confident detections (score >= high_threshold) with the confirmed tracks, lost ones included, by IoU with
//      the tracks' predicted boxes, the cost fused with the score as ByteTrack's `fuse_score` does (1 - IoU * score,
//      at most 1 - iou_threshold); all in one assignment, as ByteTrack does (a cascade that serves the tracks
//      seen last first, as DeepSORT's, lets them take a reappearing object's detection);
//   2. the low-score detections (low_threshold <= score < high_threshold) with the confirmed tracks still
//      unmatched that were matched on the last frame with detections (IoU >= low_iou_threshold): an object that
//      the detector sees less surely (partly hidden, blurred) keeps its track instead of breaking it;
//   3. the remaining confident detections with the tentative tracks (IoU >= tentative_iou_threshold);
//   4. what is left by the Kalman filter's gate (squared Mahalanobis distance of centre and height below the 95%
//      chi-square quantile): objects that moved further than their size since the last detections (a fast object,
//      a detector run every Nth frame);
//   5. what is still left, confirmed tracks only, by reach: a detection the object could have got to at its own
//      speed in any direction since it was last detected (plus half its size; heights within a factor of 2):
//      an object that turned or bounced while the detector was not looking, which a constant-velocity
//      prediction overshoots.
// A confident detection left over (score >= new_track_threshold) that does not overlap a detection continuing
// a confirmed track at IoU >= birth_iou (a second report of that object) starts a tentative track; a tentative track is
// confirmed, and only then given an id, on its min_hits-th detection (tracks born on the first frame are
// confirmed at once, as ByteTrack does, and so is one whose first detection scores confirm_threshold or more and
// overlaps no other track: until its min_hits-th detection it is dropped when it misses, not coasted); a
// tentative track that misses a frame with detections is dropped. A
// confirmed track that misses is lost and dropped after max_age frames without a detection. Ids count from 1 and
// are never reused until reset(). Unless per_class is set the class plays no part in the association: a detection
// of another class continues the track and gives it its label.
//
// Appearance (optional): observations may carry a colour descriptor (tracking/appearance.h). A track keeps an
// exponential moving average of the descriptors of its clean detections (ones that overlap no other detection:
// a box shared with another object holds some of that one's colours too); in every stage a detection whose
// descriptor is further than appearance_threshold from the track's (one that is not clean: halfway from there
// to 1) is not matched to it, so that where one object hides another the track of the hidden one does not move
// on to the one in front, and two tracks do not swap their objects as these separate. Without descriptors
// (empty, on either side) the association is IoU and motion alone, as before.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tracking/box.h"
#include "tracking/kalman_box.h"

namespace retinanet::tracking {

struct TrackerSettings {
  float high_threshold = 0.5f;           // ByteTrack's track_thresh
  float low_threshold = 0.1f;            // ByteTrack's lower bound of the second association
  float new_track_threshold = 0.6f;      // ByteTrack's det_thresh (track_thresh + 0.1)
  float iou_threshold = 0.2f;            // stage 1: ByteTrack's match_thresh 0.8 as a distance
  float low_iou_threshold = 0.5f;        // stage 2: ByteTrack's 0.5 distance
  float tentative_iou_threshold = 0.3f;  // stage 3: ByteTrack's 0.7 distance
  bool motion_gate = true;               // stage 4
  float duplicate_iou = 0.5f;            // class-agnostic duplicates (above 1: none)
  float birth_iou = 0.5f;                // no new track from a detection this close to a continued one
  unsigned min_hits = 2;                 // detections that confirm a track (1: at once)
  // A new track whose first detection has a score at least this high and overlaps no other track's box is
  // confirmed at once (1: never): with a detector run every Nth frame, waiting for min_hits detections leaves
  // a newcomer without a box for N frames or more. Until its min_hits-th detection a miss drops it.
  float confirm_threshold = 0.7f;
  // Associate detections only with tracks of their own class (by label id, or by label when either has no id):
  // for a detector whose classes are never confused, so that two objects of different classes that meet do not
  // swap ids. Off by default: a class change continues the track.
  bool per_class = false;
  unsigned max_age = 30;                 // frames a confirmed track survives without a detection
  // Frames with detections a confirmed track may miss and still be shown, at its predicted box: bridges a
  // detector's flicker (an object missed on one inference) without the box lingering long (0: never). With a
  // detector run every Nth frame one missed inference means N frames on a guess: 0 scored better at every
  // interval (README, Tracking).
  unsigned coast_misses = 0;
  // Appearance gate: a clean detection and a track whose descriptors are further apart than this (Hellinger
  // distance, 0 to 1) are never matched; one that is not clean, further than halfway from this to 1 (1: no
  // gate). Only where both have a descriptor. 0.5 and 0.6 scored alike (README, Tracking).
  float appearance_threshold = 0.5f;
  // The weight of a track's old descriptor when a clean detection updates it (BoT-SORT's 0.9).
  float appearance_momentum = 0.9f;
  KalmanSettings kalman;
};

// One detection given to update(). A producer that gives no score counts as confident (score 1).
struct Observation {
  Box box;
  float score = 1;
  int label_id = -1;
  std::string label;
  std::vector<float> appearance;  // a colour descriptor of the box (tracking/appearance.h); empty: none
};

// A confirmed track as shown on a frame.
struct TrackedObject {
  uint64_t id = 0;
  Box box;           // the detection's box (update) or the predicted one (predict)
  int label_id = -1;
  std::string label;
  float score = 0;   // of the track's last detection
  bool predicted = false;
  int observation = -1;  // update(): the index of its detection
  uint64_t frames_since_detection = 0;
};

class Tracker {
 public:
  explicit Tracker(const TrackerSettings& settings = {});

  // Settings may change between frames (an element's properties); tracks are kept.
  void set_settings(const TrackerSettings& settings) { settings_ = settings; }
  const TrackerSettings& settings() const { return settings_; }

  // A frame with fresh detections (possibly none): every track moves on `frames` frames (more than 1: frames
  // that were dropped before this one, tracking/frame_clock.h), then is associated. Returns the confirmed tracks
  // matched on this frame, by increasing observation index, then the confirmed ones that missed it but at most
  // coast_misses frames with detections in a row (predicted, observation -1), by id.
  std::vector<TrackedObject> update(const std::vector<Observation>& observations, unsigned frames = 1);

  // A frame without fresh detections: every track moves on `frames` frames. Returns the confirmed tracks shown on
  // the last frame with detections (matched, or coasting), with their predicted boxes, by increasing id.
  std::vector<TrackedObject> predict(unsigned frames = 1);

  // Forgets every track (a flush, a new stream); ids start again from 1.
  void reset();

  // For tests and diagnostics: tracks alive, confirmed or not.
  size_t track_count() const { return tracks_.size(); }

 private:
  enum class State { kTentative, kTracked, kLost };
  struct Track {
    explicit Track(BoxKalman f) : filter(std::move(f)) {}
    BoxKalman filter;
    Box last_box;     // the last detection's
    uint64_t id = 0;  // 0 while tentative
    State state = State::kTentative;
    int label_id = -1;
    std::string label;
    float score = 0;
    unsigned hits = 0;
    bool provisional = false;  // confirmed on one confident detection, not yet on min_hits: a miss drops it
    unsigned misses = 0;  // frames with detections missed in a row
    uint64_t frames_since_detection = 0;
    std::vector<float> appearance;  // moving average of its clean detections' descriptors; empty: none yet
  };

  void step_all(unsigned frames);
  void absorb(Track& track, const Observation& observation, bool clean);
  void learn_appearance(Track& track, const Observation& observation) const;
  TrackedObject view(const Track& track, bool predicted, int observation) const;

  TrackerSettings settings_;
  std::vector<Track> tracks_;
  uint64_t next_id_ = 1;
  bool first_frame_ = true;
};

}  // namespace retinanet::tracking
