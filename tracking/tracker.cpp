#include "tracking/tracker.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "tracking/appearance.h"
#include "tracking/assignment.h"

namespace retinanet::tracking {

namespace {

float effective_score(const Observation& o) { return o.score < 0 ? 1.f : o.score; }

// A detection whose box has more than this share of its area inside another detection's box is not clean: its
// descriptor holds some of the other object's colours, and does not update its track's appearance.
constexpr float kCleanOverlap = 0.1f;

float covered_share(const Box& a, const Box& b) {
  const float w = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const float h = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (w <= 0 || h <= 0 || a.area() <= 0) return 0;
  return w * h / a.area();
}

}  // namespace

Tracker::Tracker(const TrackerSettings& settings) : settings_(settings) {}

void Tracker::reset() {
  tracks_.clear();
  next_id_ = 1;
  first_frame_ = true;
}

void Tracker::step_all(unsigned frames) {
  // A frame that was dropped is a frame without detections: as many prediction steps as frames passed (ages are
  // counted in frames too), at most max_age + 1, past which no track survives anyway.
  frames = std::clamp(frames, 1u, std::max(settings_.max_age, settings_.max_age + 1));
  for (Track& t : tracks_) {
    for (unsigned i = 0; i < frames; ++i) t.filter.predict();
    t.frames_since_detection += frames;
  }
}

void Tracker::learn_appearance(Track& track, const Observation& o) const {
  if (o.appearance.empty()) return;
  if (track.appearance.size() != o.appearance.size()) {
    track.appearance = o.appearance;
    return;
  }
  const float m = std::clamp(settings_.appearance_momentum, 0.f, 1.f);
  double sum = 0;
  for (size_t i = 0; i < o.appearance.size(); ++i) {
    track.appearance[i] = m * track.appearance[i] + (1 - m) * o.appearance[i];
    sum += track.appearance[i];
  }
  if (sum > 0)
    for (float& v : track.appearance) v = static_cast<float>(v / sum);
}

void Tracker::absorb(Track& track, const Observation& o, bool clean) {
  if (clean) learn_appearance(track, o);
  track.filter.update(o.box);
  track.last_box = o.box;
  track.label_id = o.label_id;
  track.label = o.label;
  track.score = effective_score(o);
  track.frames_since_detection = 0;
  track.misses = 0;
  ++track.hits;
  if (track.hits >= settings_.min_hits) track.provisional = false;
  if (track.id == 0 && track.hits >= std::max(1u, settings_.min_hits)) track.id = next_id_++;
  if (track.id != 0) track.state = State::kTracked;
}

TrackedObject Tracker::view(const Track& t, bool predicted, int observation) const {
  TrackedObject out;
  out.id = t.id;
  out.box = t.filter.box();
  out.label_id = t.label_id;
  out.label = t.label;
  out.score = t.score;
  out.predicted = predicted;
  out.observation = observation;
  out.frames_since_detection = t.frames_since_detection;
  return out;
}

std::vector<TrackedObject> Tracker::update(const std::vector<Observation>& observations, unsigned frames) {
  step_all(frames);
  const int n_obs = static_cast<int>(observations.size());
  std::vector<int> track_of(n_obs, -1);    // observation -> track index
  std::vector<char> track_taken(tracks_.size(), 0);

  // Duplicates: an observation overlapping a more confident one at duplicate_iou or more sits out.
  std::vector<char> duplicate(n_obs, 0);
  {
    std::vector<int> order(n_obs);
    for (int o = 0; o < n_obs; ++o) order[o] = o;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return effective_score(observations[a]) > effective_score(observations[b]);
    });
    for (size_t i = 0; i < order.size(); ++i) {
      if (duplicate[order[i]]) continue;
      for (size_t j = i + 1; j < order.size(); ++j)
        if (!duplicate[order[j]] &&
            iou(observations[order[i]].box, observations[order[j]].box) >= settings_.duplicate_iou)
          duplicate[order[j]] = 1;
    }
  }

  // Clean: a detection that no other (taking part) detection overlaps by more than kCleanOverlap of its box.
  std::vector<char> clean(n_obs, 1);
  for (int o = 0; o < n_obs; ++o)
    for (int m = 0; m < n_obs && clean[o]; ++m)
      if (m != o && !duplicate[m] && effective_score(observations[m]) >= settings_.low_threshold &&
          covered_share(observations[o].box, observations[m].box) > kCleanOverlap)
        clean[o] = 0;

  // per_class: a track takes only detections of its class (label ids when both have one, else labels).
  const auto same_class = [&](const Track& t, const Observation& o) {
    if (!settings_.per_class) return true;
    return t.label_id >= 0 && o.label_id >= 0 ? t.label_id == o.label_id : t.label == o.label;
  };
  // One association stage: the still-free tracks that `track_ok` admits with the still-free observations that
  // `obs_ok` admits, cost `cost` (above `limit`: never paired).
  auto stage = [&](const std::function<bool(const Track&)>& track_ok, const std::function<bool(int)>& obs_ok,
                   const std::function<double(const Track&, const Observation&)>& cost, double limit) {
    std::vector<int> rows, cols;
    for (size_t t = 0; t < tracks_.size(); ++t)
      if (!track_taken[t] && track_ok(tracks_[t])) rows.push_back(static_cast<int>(t));
    for (int o = 0; o < n_obs; ++o)
      if (track_of[o] < 0 && obs_ok(o)) cols.push_back(o);
    if (rows.empty() || cols.empty()) return;
    CostMatrix costs(static_cast<int>(rows.size()), static_cast<int>(cols.size()));
    for (size_t r = 0; r < rows.size(); ++r)
      for (size_t c = 0; c < cols.size(); ++c) {
        const Track& t = tracks_[rows[r]];
        const Observation& o = observations[cols[c]];
        // Appearance gate: a detection that does not look like the track is never its continuation. One that
        // shares its box with another detection holds some of that one's colours too: a looser gate, halfway
        // to 1.
        const float gate = clean[cols[c]] ? settings_.appearance_threshold
                                          : 0.5f * (1 + settings_.appearance_threshold);
        const bool looks_alike = appearance_distance(t.appearance, o.appearance) <= gate;
        costs.at(static_cast<int>(r), static_cast<int>(c)) =
            same_class(t, o) && looks_alike ? cost(t, o) : limit + 1;
      }
    for (const auto& [r, c] : match_with_limit(costs, limit).pairs) {
      track_taken[rows[r]] = 1;
      track_of[cols[c]] = rows[r];
    }
  };
  const auto iou_cost = [](const Track& t, const Observation& o) { return 1.0 - iou(t.filter.box(), o.box); };
  const auto fused_cost = [](const Track& t, const Observation& o) {
    return 1.0 - iou(t.filter.box(), o.box) * (o.score < 0 ? 1.0 : o.score);
  };
  const auto high = [&](int o) {
    return !duplicate[o] && effective_score(observations[o]) >= settings_.high_threshold;
  };
  const auto low = [&](int o) {
    const float s = effective_score(observations[o]);
    return !duplicate[o] && s >= settings_.low_threshold && s < settings_.high_threshold;
  };
  const auto confirmed = [](const Track& t) { return t.state != State::kTentative; };
  const auto tracked = [](const Track& t) { return t.state == State::kTracked; };
  const auto tentative = [](const Track& t) { return t.state == State::kTentative; };

  stage(confirmed, high, fused_cost, 1.0 - settings_.iou_threshold);
  stage(tracked, low, iou_cost, 1.0 - settings_.low_iou_threshold);
  stage(tentative, high, iou_cost, 1.0 - settings_.tentative_iou_threshold);
  if (settings_.motion_gate) {
    stage([](const Track&) { return true; }, high,
          [](const Track& t, const Observation& o) { return t.filter.gating_distance(o.box); }, kGate95);
    // 5. A confirmed track and a detection its object could have reached at its own speed in any direction
    // since it was last seen (it turned, bounced, was pushed): the distance from the last detected centre over
    // speed * frames + half the object's size, sizes within a factor of 2.
    stage(confirmed, high, [](const Track& t, const Observation& o) {
      const double ratio = o.box.height() / std::max(1.f, t.last_box.height());
      if (ratio < 0.5 || ratio > 2) return 2.0;
      const double speed = std::hypot(t.filter.mean().at<double>(4), t.filter.mean().at<double>(5));
      const double reach = speed * static_cast<double>(t.frames_since_detection) +
                           0.25 * (t.last_box.width() + t.last_box.height());
      return std::hypot(o.box.cx() - t.last_box.cx(), o.box.cy() - t.last_box.cy()) / std::max(reach, 1.0);
    }, 1.0);
  }

  for (int o = 0; o < n_obs; ++o)
    if (track_of[o] >= 0) absorb(tracks_[track_of[o]], observations[o], clean[o]);

  // Unmatched: a tentative track is dropped, a tracked one is lost; lost ones expire after max_age frames.
  std::vector<Track> kept;
  kept.reserve(tracks_.size() + n_obs);
  std::vector<int> new_index(tracks_.size(), -1);
  for (size_t t = 0; t < tracks_.size(); ++t) {
    Track& track = tracks_[t];
    if (!track_taken[t]) {
      if (track.state == State::kTentative) continue;
      if (track.provisional) continue;  // confirmed on a confident first sight, not seen again
      track.state = State::kLost;
      ++track.misses;
      if (track.frames_since_detection > settings_.max_age) continue;
    }
    new_index[t] = static_cast<int>(kept.size());
    kept.push_back(std::move(track));
  }
  // A detection that mostly covers one already continuing a confirmed track is a second report of that object
  // (a part of it, a neighbouring anchor), not a newcomer.
  const auto explained = [&](const Observation& obs) {
    for (int m = 0; m < n_obs; ++m)
      if (track_of[m] >= 0 && tracks_[track_of[m]].state != State::kTentative &&
          iou(observations[m].box, obs.box) >= settings_.birth_iou)
        return true;
    return false;
  };
  std::vector<char> may_start(n_obs, 0);
  for (int o = 0; o < n_obs; ++o)
    may_start[o] = track_of[o] < 0 && !duplicate[o] &&
                   effective_score(observations[o]) >= std::max(settings_.new_track_threshold,
                                                                settings_.high_threshold) &&
                   !explained(observations[o]);
  for (int o = 0; o < n_obs; ++o) {
    if (track_of[o] >= 0) {
      track_of[o] = new_index[track_of[o]];
      continue;
    }
    const Observation& obs = observations[o];
    if (!may_start[o]) continue;
    Track track{BoxKalman(obs.box, settings_.kalman)};
    track.last_box = obs.box;
    track.label_id = obs.label_id;
    track.label = obs.label;
    track.score = effective_score(obs);
    track.hits = 1;
    if (clean[o]) learn_appearance(track, obs);
    // Confirmed at once when it is sure (a score of its own, high enough) and alone: next to another track it
    // may be a second report of that object, or one of two objects the association could mix up.
    const auto alone = [&]() {
      for (const Track& other : kept)
        if (iou(other.filter.box(), obs.box) > 0) return false;
      return true;
    };
    track.provisional = !first_frame_ && settings_.min_hits > 1 && settings_.confirm_threshold < 1 &&
                        obs.score >= 0 && obs.score >= settings_.confirm_threshold && alone();
    if (first_frame_ || settings_.min_hits <= 1 || track.provisional) {
      track.id = next_id_++;
      track.state = State::kTracked;
    }
    track_of[o] = static_cast<int>(kept.size());
    kept.push_back(std::move(track));
  }
  tracks_ = std::move(kept);
  first_frame_ = false;

  std::vector<TrackedObject> out;
  for (int o = 0; o < n_obs; ++o) {
    if (track_of[o] < 0) continue;
    const Track& t = tracks_[track_of[o]];
    if (t.state != State::kTracked) continue;
    TrackedObject v = view(t, false, o);
    v.box = observations[o].box;
    out.push_back(std::move(v));
  }
  const size_t matched = out.size();
  for (const Track& t : tracks_)
    if (t.state == State::kLost && t.misses <= settings_.coast_misses) out.push_back(view(t, true, -1));
  std::sort(out.begin() + matched, out.end(),
            [](const TrackedObject& a, const TrackedObject& b) { return a.id < b.id; });
  return out;
}

std::vector<TrackedObject> Tracker::predict(unsigned frames) {
  step_all(frames);
  tracks_.erase(std::remove_if(tracks_.begin(), tracks_.end(),
                               [&](const Track& t) { return t.frames_since_detection > settings_.max_age; }),
                tracks_.end());
  std::vector<TrackedObject> out;
  for (const Track& t : tracks_)
    if (t.state == State::kTracked || (t.state == State::kLost && t.misses <= settings_.coast_misses))
      out.push_back(view(t, true, -1));
  std::sort(out.begin(), out.end(), [](const TrackedObject& a, const TrackedObject& b) { return a.id < b.id; });
  return out;
}

}  // namespace retinanet::tracking
