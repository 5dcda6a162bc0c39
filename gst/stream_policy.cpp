#include "gst/stream_policy.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "common/model_error.h"
#include "model/inference/class_options.h"

namespace retinanet::gst {

StreamPolicy::StreamPolicy(const ModelConfig& model, const Thresholds& detector)
    : model_(model), applied_(detector) {}

std::vector<std::string> StreamPolicy::set_classes(const std::string& text) {
  std::vector<std::string> unknown;
  if (text == classes_text_) return unknown;
  classes_text_ = text;
  class_tokens_.clear();
  std::stringstream in(text);
  std::string token;
  while (std::getline(in, token, ',')) {
    const size_t begin = token.find_first_not_of(" \t"), end = token.find_last_not_of(" \t");
    if (begin == std::string::npos) continue;
    token = token.substr(begin, end - begin + 1);
    class_tokens_.push_back(token);
    bool known = false;
    for (int id = 0; id < model_.num_classes && !known; ++id)
      known = token == model_.label_name(id) || token == std::to_string(id);
    if (!known) unknown.push_back(token);
  }
  return unknown;
}

std::string StreamPolicy::set_class_thresholds(const std::string& text) {
  if (text == class_thresholds_text_) return "";
  class_thresholds_text_ = text;
  try {
    class_thresholds_ = parse_class_thresholds(text, model_);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

bool StreamPolicy::wanted(const Detection& d) const {
  if (class_tokens_.empty()) return true;
  for (const std::string& token : class_tokens_)
    if (token == d.name || token == std::to_string(d.label)) return true;
  return false;
}

FramePlan StreamPolicy::plan(const StreamSettings& settings, int width, int height, int64_t pts) {
  FramePlan plan;
  plan.frame = frame_++;
  plan.detector = applied_;
  if (have_last_ && (width != width_ || height != height_)) reset();
  const bool due = ++frames_since_inference_ >= std::max(1u, settings.interval);
  // A late frame is not inferred (QoS): the next one that is not late is, as there is no point in waiting.
  plan.infer = !settings.late && (!have_last_ || due);
  if (!plan.infer) return plan;

  // With a class filter the detector keeps its usual cap and the survivors of the filter are cut to
  // max_detections afterwards; otherwise the cap would count detections the filter then drops. NMS's output is
  // sorted by score, so cutting it equals a smaller cap: the result is what the detector would give if it
  // counted the wanted classes only (among the model's usual cap).
  Thresholds detector = settings.thresholds;
  detector.class_score = class_thresholds_;
  if (!class_tokens_.empty() && detector.max_detections > 0)
    detector.max_detections = std::max(detector.max_detections, model_.detections_per_img);
  plan.detector = detector;
  plan.update_thresholds = detector != applied_;
  applied_ = detector;
  pending_keep_ = settings.thresholds.max_detections;
  pending_width_ = width;
  pending_height_ = height;
  pending_frame_ = plan.frame;
  pending_pts_ = pts;
  return plan;
}

void StreamPolicy::inferred(Detections detections) {
  submitted();
  arrived(std::move(detections), pending_frame_, pending_pts_);
}

void StreamPolicy::submitted() { frames_since_inference_ = 0; }

void StreamPolicy::arrived(Detections detections, uint64_t frame, int64_t pts) {
  if (have_last_ && frame < last_frame_) return;
  last_ = std::move(detections);
  have_last_ = true;
  last_frame_ = frame;
  last_pts_ = pts;
  keep_ = pending_keep_;
  width_ = pending_width_;
  height_ = pending_height_;
}

Detections StreamPolicy::detections() const {
  Detections kept;
  kept.reserve(last_.size());
  for (const Detection& d : last_) {
    if (keep_ > 0 && kept.size() == static_cast<size_t>(keep_)) break;
    if (wanted(d)) kept.push_back(d);
  }
  return kept;
}

void StreamPolicy::reset() {
  last_.clear();
  have_last_ = false;
}

}  // namespace retinanet::gst
