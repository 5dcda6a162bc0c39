// What retinanetdetect decides per frame, apart from GStreamer: which frames are inferred (interval, carried
// detections marked stale, a fresh start after a flush or a new frame size), which classes are kept, how many
// detections a frame gets, and when the detector's thresholds must change. The element feeds it the properties
// and the detector's answers; tests drive it without a pipeline. One stream, one thread: not locked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/detection.h"
#include "model/files/config.h"
#include "model/inference/detector.h"

namespace retinanet::gst {

// The live properties as the element read them for one frame.
struct StreamSettings {
  unsigned interval = 1;  // infer every Nth frame (0 counts as 1)
  Thresholds thresholds;  // as the user set them: max_detections counts the detections a frame keeps
  bool late = false;      // QoS: the frame is already late downstream; it carries, it is not inferred
};

// What to do with the next frame.
struct FramePlan {
  uint64_t frame = 0;             // the frame's number: frames planned before it (reset() does not restart it)
  bool infer = false;             // run the detector and hand its answer to inferred(); false: carry, stale
  bool update_thresholds = false; // call Detector::set_thresholds(detector) before detecting
  Thresholds detector;            // what the detector runs with on this frame (when infer)
};

class StreamPolicy {
 public:
  // `model`: the loaded model's labels and its own detections_per_img (the detector's cap when a class filter is
  // on); `detector`: the thresholds the detector was created with.
  StreamPolicy(const ModelConfig& model, const Thresholds& detector);

  // The `classes` property: label names or ids, comma-separated, blanks around each trimmed; empty keeps every
  // class. Returns the tokens that are no label of the model (they match nothing), for the caller to warn about;
  // the same text again changes nothing and returns none, so each mistake is reported once.
  std::vector<std::string> set_classes(const std::string& text);
  const std::string& classes() const { return classes_text_; }

  // The `class-thresholds` property (class_options.h's syntax, keys resolved against the model's labels): the
  // per-class score thresholds every later inferred frame asks the detector for; empty: none (the model file's,
  // if it has them). Returns "" when taken, else the reason, and then keeps the thresholds it had. The same text
  // again changes nothing and returns "", so each mistake is reported once.
  std::string set_class_thresholds(const std::string& text);
  const std::string& class_thresholds() const { return class_thresholds_text_; }

  // Plans the next frame of `width` x `height` pixels. A frame is inferred when there is nothing to carry (the
  // first frame, after reset(), after a size change: carried boxes are in the old frame's pixels) or when
  // `interval` frames have passed since the last inference.
  FramePlan plan(const StreamSettings& settings, int width, int height, int64_t pts = -1);
  // The detector's answer on the frame just planned with infer (by decreasing score).
  void inferred(Detections detections);
  // mode=async: the frame just planned with infer was handed to the detector, whose answer comes later; the
  // interval counts from here.
  void submitted();
  // mode=async: the answer for an earlier frame (`frame` as plan() numbered it, `pts` as the caller knows it) of
  // the current size. An answer older than the one already held is ignored.
  void arrived(Detections detections, uint64_t frame, int64_t pts);
  // The frame the detections carried now were computed on, and its pts (-1: none); valid with has_answer().
  bool has_answer() const { return have_last_; }
  uint64_t answer_frame() const { return last_frame_; }
  int64_t answer_pts() const { return last_pts_; }
  // What the frame just planned carries: the last answer, the class filter applied, then cut to the
  // max_detections that answer was asked with.
  Detections detections() const;

  // Forgets the last answer (a flush: it belongs to another place in the stream); the next frame is inferred.
  void reset();

 private:
  bool wanted(const Detection& d) const;

  ModelConfig model_;
  std::string classes_text_;
  std::vector<std::string> class_tokens_;  // empty: every class
  std::string class_thresholds_text_;
  std::vector<float> class_thresholds_;    // parsed: num_classes entries (-1: the score threshold), or empty
  Thresholds applied_;                     // what the detector runs with now
  int pending_keep_ = 0, keep_ = 0;        // max_detections of the planned and of the last inference (0: all)
  Detections last_;                        // the last answer, before the class filter
  bool have_last_ = false;
  uint64_t last_frame_ = 0;                // the frame last_ was computed on
  int64_t last_pts_ = -1;
  uint64_t pending_frame_ = 0;
  int64_t pending_pts_ = -1;
  int width_ = 0, height_ = 0;             // the size of the frame last_ was computed on
  int pending_width_ = 0, pending_height_ = 0;
  unsigned frames_since_inference_ = 0;
  uint64_t frame_ = 0;
};

}  // namespace retinanet::gst
