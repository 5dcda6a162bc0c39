// The tracker behind retinanettrack, without a pipeline: the assignment against a brute force, the Kalman filter
// against a hand computation, the cadence, and the tracker's lifecycle and association on made-up sequences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>

#include "tracking/appearance.h"
#include "tracking/assignment.h"
#include "tracking/cadence.h"
#include "tracking/frame_clock.h"
#include "tracking/kalman_box.h"
#include "tracking/tracker.h"

namespace rt = retinanet::tracking;

namespace {

// The cheapest assignment of min(rows, cols) pairs by trying every one.
double brute_force_assignment(const rt::CostMatrix& m) {
  const bool transpose = m.rows > m.cols;
  const int n = transpose ? m.cols : m.rows, k = transpose ? m.rows : m.cols;
  std::vector<int> cols(k);
  std::iota(cols.begin(), cols.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  // Every ordered choice of n of the k columns: permutations of all k, first n used (duplicates are harmless).
  do {
    double total = 0;
    for (int r = 0; r < n; ++r) total += transpose ? m.at(cols[r], r) : m.at(r, cols[r]);
    best = std::min(best, total);
  } while (std::next_permutation(cols.begin(), cols.end()));
  return best;
}

// The cheapest partial matching where a pair costs its entry (allowed only up to `limit`) and each unmatched row
// and column costs limit / 2, by trying every partial matching.
double brute_force_limited(const rt::CostMatrix& m, double limit, int row, std::vector<char>& used) {
  if (row == m.rows) {
    double unmatched = 0;
    for (char u : used) unmatched += u ? 0 : limit / 2;
    return unmatched;
  }
  double best = limit / 2 + brute_force_limited(m, limit, row + 1, used);
  for (int c = 0; c < m.cols; ++c) {
    if (used[c] || m.at(row, c) > limit) continue;
    used[c] = 1;
    best = std::min(best, m.at(row, c) + brute_force_limited(m, limit, row + 1, used));
    used[c] = 0;
  }
  return best;
}

rt::Box box_at(float cx, float cy, float w, float h) { return {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2}; }

rt::Observation obs(const rt::Box& b, float score = 0.9f, const char* label = "square") {
  rt::Observation o;
  o.box = b;
  o.score = score;
  o.label = label;
  return o;
}

}  // namespace

TEST(Assignment, EqualsBruteForceOnRandomMatrices) {
  std::mt19937 rng(12);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 400; ++trial) {
    const int rows = 1 + trial % 7, cols = 1 + (trial / 7) % 7;
    rt::CostMatrix m(rows, cols);
    for (double& c : m.cost) c = trial % 3 == 0 ? std::floor(u(rng) * 4) : u(rng);  // ties as well
    const std::vector<int> a = rt::solve_assignment(m);
    ASSERT_EQ(static_cast<int>(a.size()), rows);
    std::set<int> used;
    double total = 0;
    int assigned = 0;
    for (int r = 0; r < rows; ++r) {
      if (a[r] < 0) continue;
      ASSERT_LT(a[r], cols);
      ASSERT_TRUE(used.insert(a[r]).second) << "column given twice";
      total += m.at(r, a[r]);
      ++assigned;
    }
    EXPECT_EQ(assigned, std::min(rows, cols));
    EXPECT_NEAR(total, brute_force_assignment(m), 1e-9) << rows << "x" << cols << " trial " << trial;
  }
}

TEST(Assignment, LimitedMatchingEqualsBruteForce) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 300; ++trial) {
    const int rows = trial % 6, cols = (trial / 6) % 6;
    const double limit = 0.2 + 0.6 * u(rng);
    rt::CostMatrix m(rows, cols);
    for (double& c : m.cost) c = u(rng);
    const rt::Matching match = rt::match_with_limit(m, limit);
    double total = 0;
    std::set<int> rows_seen, cols_seen;
    for (const auto& [r, c] : match.pairs) {
      ASSERT_LE(m.at(r, c), limit);
      ASSERT_TRUE(rows_seen.insert(r).second);
      ASSERT_TRUE(cols_seen.insert(c).second);
      total += m.at(r, c);
    }
    for (int r : match.unmatched_rows) ASSERT_TRUE(rows_seen.insert(r).second);
    for (int c : match.unmatched_cols) ASSERT_TRUE(cols_seen.insert(c).second);
    ASSERT_EQ(static_cast<int>(rows_seen.size()), rows);
    ASSERT_EQ(static_cast<int>(cols_seen.size()), cols);
    total += (match.unmatched_rows.size() + match.unmatched_cols.size()) * limit / 2;
    std::vector<char> used(cols, 0);
    EXPECT_NEAR(total, brute_force_limited(m, limit, 0, used), 1e-9) << rows << "x" << cols << " trial " << trial;
  }
}

TEST(Assignment, EntriesAboveTheLimitAreNeverMatched) {
  rt::CostMatrix m(2, 2, 5.0);
  m.at(1, 0) = 0.1;
  const rt::Matching match = rt::match_with_limit(m, 0.8);
  ASSERT_EQ(match.pairs.size(), 1u);
  EXPECT_EQ(match.pairs[0], std::make_pair(1, 0));
  EXPECT_EQ(match.unmatched_rows, std::vector<int>{0});
  EXPECT_EQ(match.unmatched_cols, std::vector<int>{1});
}

// The filter's x coordinate and its velocity form an independent 2x2 problem while the height stays the same;
// here it is computed by hand: P0 = diag(sp^2, sv^2) with sp = 2 h/20, sv = h/4 (the initial velocity prior),
// Q = diag((h/20)^2, (h/160)^2), R = (h/20)^2.
TEST(Kalman, PredictionAndUpdateEqualAHandComputation) {
  const double h = 40, w = 20;
  rt::KalmanSettings settings;
  rt::BoxKalman kf(box_at(100, 50, static_cast<float>(w), static_cast<float>(h)), settings);

  // Nothing moves before a second measurement: predict keeps the box, grows the covariance as F P F^T + Q.
  kf.predict();
  const double sp = 2 * h / 20, sv = h / 4, qp = h / 20, qv = h / 160, r = h / 20;
  double p00 = sp * sp + sv * sv + qp * qp, p01 = sv * sv, p11 = sv * sv + qv * qv;
  EXPECT_NEAR(kf.mean().at<double>(0), 100, 1e-9);
  EXPECT_NEAR(kf.covariance().at<double>(0, 0), p00, 1e-9);
  EXPECT_NEAR(kf.covariance().at<double>(0, 4), p01, 1e-9);
  EXPECT_NEAR(kf.covariance().at<double>(4, 4), p11, 1e-9);

  // The object is seen 6 pixels to the right: gain K = P H^T / (P00 + R).
  kf.update(box_at(106, 50, static_cast<float>(w), static_cast<float>(h)));
  const double s = p00 + r * r, k0 = p00 / s, k1 = p01 / s;
  double x = 100 + k0 * 6, v = k1 * 6;
  const double n00 = (1 - k0) * p00, n01 = (1 - k0) * p01, n11 = p11 - k1 * p01;
  EXPECT_NEAR(kf.mean().at<double>(0), x, 1e-9);
  EXPECT_NEAR(kf.mean().at<double>(4), v, 1e-9);
  EXPECT_NEAR(kf.covariance().at<double>(0, 0), n00, 1e-9);
  EXPECT_NEAR(kf.covariance().at<double>(0, 4), n01, 1e-9);
  EXPECT_NEAR(kf.covariance().at<double>(4, 4), n11, 1e-9);

  // Three frames on at constant velocity.
  for (int i = 0; i < 3; ++i) kf.predict();
  x += 3 * v;
  EXPECT_NEAR(kf.mean().at<double>(0), x, 1e-9);
  EXPECT_NEAR(kf.box().cx(), x, 1e-4);
  EXPECT_NEAR(kf.box().height(), h, 1e-4);
  EXPECT_NEAR(kf.box().width(), w, 1e-3);
  EXPECT_NEAR(kf.mean().at<double>(1), 50, 1e-9);  // y did not move
}

TEST(Kalman, LearnsAConstantVelocity) {
  rt::BoxKalman kf(box_at(50, 60, 30, 30), {});
  for (int f = 1; f <= 20; ++f) {
    kf.predict();
    kf.update(box_at(50 + 4.f * f, 60 - 2.f * f, 30, 30));
  }
  for (int f = 0; f < 5; ++f) kf.predict();
  EXPECT_NEAR(kf.box().cx(), 50 + 4 * 25, 1.0);
  EXPECT_NEAR(kf.box().cy(), 60 - 2 * 25, 1.0);
  // The gate admits where the object goes, not a box far away.
  EXPECT_LT(kf.gating_distance(box_at(150, 10, 30, 30)), rt::kGate95);
  EXPECT_GT(kf.gating_distance(box_at(50, 60, 30, 30)), rt::kGate95);
}

TEST(Cadence, LearnsTheProducersInterval) {
  rt::Cadence c;
  EXPECT_EQ(c.empty(), rt::Cadence::Frame::kInferred);  // nothing known: every frame counts as inferred
  c.reset();
  // Fresh every 4th frame, nothing in between.
  c.fresh();
  EXPECT_EQ(c.empty(), rt::Cadence::Frame::kInferred);  // no gap seen yet
  c.reset();
  c.fresh();
  c.carried();
  c.carried();
  c.carried();
  c.fresh();
  EXPECT_EQ(c.expected_gap(), 4u);
  EXPECT_EQ(c.empty(), rt::Cadence::Frame::kSkipped);
  EXPECT_EQ(c.empty(), rt::Cadence::Frame::kSkipped);
  EXPECT_EQ(c.empty(), rt::Cadence::Frame::kSkipped);
  EXPECT_EQ(c.empty(), rt::Cadence::Frame::kInferred);  // the 4th: inferred, nothing found
  EXPECT_EQ(c.empty(), rt::Cadence::Frame::kSkipped);
  // Every frame fresh: an empty frame was inferred.
  rt::Cadence every;
  every.fresh();
  every.fresh();
  EXPECT_EQ(every.expected_gap(), 1u);
  EXPECT_EQ(every.empty(), rt::Cadence::Frame::kInferred);
}

// Frame periods from timestamps: drops count, jitter and the odd burst do not, the caps' rate plays no part.
TEST(FrameClock, CountsDroppedFramesByTheMedianGap) {
  constexpr uint64_t kPeriod = 40'000'000;  // 25 frames/s
  rt::FrameClock clock;
  EXPECT_EQ(clock.advance(std::nullopt, 31), 1u);
  EXPECT_EQ(clock.advance(0, 31), 1u);  // the first timestamp: nothing to measure against
  EXPECT_EQ(clock.period_ns(), 0u);
  EXPECT_EQ(clock.advance(3 * kPeriod, 31), 1u);  // one gap seen: no period known before it
  uint64_t t = 3 * kPeriod;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> jitter(-8'000'000, 8'000'000);  // +-20% of a period
  for (int f = 0; f < 20; ++f) {
    t += kPeriod;
    EXPECT_EQ(clock.advance(t + jitter(rng), 31), 1u) << "frame " << f;
  }
  EXPECT_NEAR(static_cast<double>(clock.period_ns()), kPeriod, 8e6);
  t += 4 * kPeriod;  // three frames dropped
  EXPECT_EQ(clock.advance(t, 31), 4u);
  t += kPeriod / 50;  // a burst: a frame right after another
  EXPECT_EQ(clock.advance(t, 31), 1u);
  t += kPeriod;
  EXPECT_EQ(clock.advance(t, 31), 1u);
  EXPECT_EQ(clock.advance(t + 1000 * kPeriod, 31), 31u);  // a camera away for 40 s: at most max_periods
  EXPECT_EQ(clock.advance(t, 31), 1u);                     // time going back: a new start
  EXPECT_EQ(clock.advance(std::nullopt, 31), 1u);          // no timestamp: one frame
  clock.reset();
  EXPECT_EQ(clock.period_ns(), 0u);
  EXPECT_EQ(clock.advance(10 * kPeriod, 31), 1u);
}

// A detection after k frames is the same as k - 1 frames without detections and then the detection: boxes and
// ids equal, and ages count the frames that passed.
TEST(Tracker, AGapOfFramesEqualsThatManyFramesWithoutDetections) {
  rt::Tracker gapped, stepped;
  for (int f = 0; f < 8; ++f) {
    gapped.update({obs(box_at(40 + 9.f * f, 100, 30, 30))});
    stepped.update({obs(box_at(40 + 9.f * f, 100, 30, 30))});
  }
  // Frames 8 to 11 dropped: the next detection is frame 12's.
  for (int f = 8; f < 12; ++f) stepped.predict();
  const auto a = gapped.update({obs(box_at(40 + 9.f * 12, 100, 30, 30))}, 5);
  const auto b = stepped.update({obs(box_at(40 + 9.f * 12, 100, 30, 30))});
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].id, b[0].id);
  // Then a stale frame two periods on: the prediction has moved two frames, as the stepped tracker's.
  const auto pa = gapped.predict(2);
  stepped.predict();
  const auto pb = stepped.predict();
  ASSERT_EQ(pa.size(), 1u);
  ASSERT_EQ(pb.size(), 1u);
  EXPECT_FLOAT_EQ(pa[0].box.cx(), pb[0].box.cx());
  EXPECT_FLOAT_EQ(pa[0].box.x1, pb[0].box.x1);
  EXPECT_EQ(pa[0].frames_since_detection, 2u);
  EXPECT_NEAR(pa[0].box.cx(), 40 + 9.f * 14, 3.f);
  // A gap longer than max_age ends the track as max_age frames without detections would.
  rt::TrackerSettings short_lived;
  short_lived.max_age = 5;
  gapped.set_settings(short_lived);
  EXPECT_TRUE(gapped.predict(6).empty());
  EXPECT_EQ(gapped.track_count(), 0u);
}

TEST(Tracker, KeepsIdsThroughACrossingAndNeverReusesThem) {
  rt::TrackerSettings settings;
  settings.coast_misses = 1;  // the frame they overlap as duplicates, the one without a detection is coasted
  rt::Tracker tracker(settings);
  // Two squares cross head-on along the same row, one slightly lower, at 5 pixels per frame.
  std::vector<uint64_t> ids_a, ids_b;
  for (int f = 0; f < 40; ++f) {
    const rt::Box a = box_at(40 + 5.f * f, 100, 30, 30), b = box_at(240 - 5.f * f, 108, 30, 30);
    const auto out = tracker.update({obs(a), obs(b)});
    for (const auto& t : out) (t.observation == 0 ? ids_a : ids_b).push_back(t.id);
  }
  ASSERT_EQ(ids_a.size(), 40u);
  ASSERT_EQ(ids_b.size(), 40u);
  EXPECT_TRUE(std::all_of(ids_a.begin(), ids_a.end(), [&](uint64_t id) { return id == ids_a[0]; }));
  EXPECT_TRUE(std::all_of(ids_b.begin(), ids_b.end(), [&](uint64_t id) { return id == ids_b[0]; }));
  EXPECT_NE(ids_a[0], ids_b[0]);
}

TEST(Tracker, ConfirmsAfterMinHitsAndDropsAfterMaxAge) {
  rt::TrackerSettings settings;
  settings.min_hits = 3;
  settings.max_age = 5;
  settings.coast_misses = 0;
  settings.confirm_threshold = 1;  // min_hits alone
  rt::Tracker tracker(settings);
  EXPECT_TRUE(tracker.update({}).empty());  // the first frame is empty: later tracks wait for min_hits
  EXPECT_TRUE(tracker.update({obs(box_at(50, 50, 20, 20))}).empty());
  EXPECT_TRUE(tracker.update({obs(box_at(52, 50, 20, 20))}).empty());
  auto out = tracker.update({obs(box_at(54, 50, 20, 20))});
  ASSERT_EQ(out.size(), 1u);
  const uint64_t id = out[0].id;
  EXPECT_EQ(id, 1u);
  // Gone for 5 frames: still a lost track; back on the 5th with the same id.
  for (int f = 0; f < 4; ++f) EXPECT_TRUE(tracker.update({}).empty());
  out = tracker.update({obs(box_at(64, 50, 20, 20))});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, id);
  // Gone for 6 frames: dropped; what comes back is a new object with a new id.
  for (int f = 0; f < 6; ++f) tracker.update({});
  EXPECT_EQ(tracker.track_count(), 0u);
  for (int f = 0; f < 3; ++f) out = tracker.update({obs(box_at(80, 50, 20, 20))});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, id + 1);
}

TEST(Tracker, TentativeTrackMissingAFrameIsDropped) {
  rt::TrackerSettings settings;
  settings.confirm_threshold = 1;  // tentative, not confirmed on its first detection
  rt::Tracker tracker(settings);
  tracker.update({});
  tracker.update({obs(box_at(50, 50, 20, 20))});
  tracker.update({});
  EXPECT_EQ(tracker.track_count(), 0u);
}

TEST(Tracker, PredictsBetweenDetectionsAndCatchesUp) {
  rt::Tracker tracker;
  uint64_t id = 0;
  // Detections on every 4th frame only, a fast small object (7 px per frame, 20 px across); predictions between.
  for (int f = 0; f < 60; ++f) {
    const rt::Box truth = box_at(30 + 7.f * f, 200, 20, 20);
    if (f % 4 == 0) {
      const auto out = tracker.update({obs(truth)});
      if (f >= 4) {
        ASSERT_EQ(out.size(), 1u) << "frame " << f;
        if (id == 0) id = out[0].id;
        EXPECT_EQ(out[0].id, id);
      }
    } else {
      const auto out = tracker.predict();
      if (f > 12) {
        ASSERT_EQ(out.size(), 1u) << "frame " << f;
        EXPECT_TRUE(out[0].predicted);
        EXPECT_EQ(out[0].id, id);
        EXPECT_GT(rt::iou(out[0].box, truth), 0.7) << "frame " << f;
      }
    }
  }
}

TEST(Tracker, LowScoreDetectionsContinueTracksButStartNone) {
  rt::Tracker tracker;
  auto out = tracker.update({obs(box_at(50, 50, 30, 30), 0.9f)});
  ASSERT_EQ(out.size(), 1u);
  const uint64_t id = out[0].id;
  out = tracker.update({obs(box_at(53, 50, 30, 30), 0.3f), obs(box_at(200, 200, 30, 30), 0.3f)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, id);
  EXPECT_EQ(out[0].observation, 0);
  EXPECT_EQ(tracker.track_count(), 1u);
}

TEST(Tracker, AClassChangeKeepsTheId) {
  rt::Tracker tracker;
  auto out = tracker.update({obs(box_at(50, 50, 30, 30), 0.9f, "circle")});
  const uint64_t id = out.at(0).id;
  out = tracker.update({obs(box_at(52, 50, 30, 30), 0.9f, "square")});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, id);
  EXPECT_EQ(out[0].label, "square");
}

TEST(Tracker, ResetStartsIdsAgain) {
  rt::Tracker tracker;
  tracker.update({obs(box_at(50, 50, 30, 30))});
  tracker.reset();
  EXPECT_EQ(tracker.track_count(), 0u);
  const auto out = tracker.update({obs(box_at(150, 50, 30, 30))});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, 1u);
}

TEST(Tracker, ADuplicateOfAnotherClassGetsNoTrack) {
  rt::Tracker tracker;
  // Per-class NMS: the same object as a square (0.9) and a circle (0.7), frame after frame.
  for (int f = 0; f < 10; ++f) {
    const rt::Box b = box_at(50 + 3.f * f, 50, 30, 30), twin = box_at(51 + 3.f * f, 50, 30, 29);
    const auto out = tracker.update({obs(twin, 0.7f, "circle"), obs(b, 0.9f, "square")});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].id, 1u);
    EXPECT_EQ(out[0].observation, 1);
  }
  EXPECT_EQ(tracker.track_count(), 1u);
}

TEST(Tracker, CoastsOverAShortMissAtThePredictedBox) {
  rt::TrackerSettings settings;
  settings.coast_misses = 1;
  rt::Tracker tracker(settings);
  for (int f = 0; f < 10; ++f) tracker.update({obs(box_at(50 + 4.f * f, 50, 30, 30))});
  auto out = tracker.update({});  // missed once: shown where it should be now, predicted
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].predicted);
  EXPECT_EQ(out[0].observation, -1);
  EXPECT_NEAR(out[0].box.cx(), 50 + 4 * 10, 1.0);
  out = tracker.predict();  // a frame without inference after it: still shown
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NEAR(out[0].box.cx(), 50 + 4 * 11, 1.0);
  EXPECT_TRUE(tracker.update({}).empty());  // missed twice: no longer shown, still alive
  EXPECT_EQ(tracker.track_count(), 1u);
  out = tracker.update({obs(box_at(50 + 4.f * 13, 50, 30, 30))});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, 1u);
  EXPECT_FALSE(out[0].predicted);
}

TEST(Tracker, ConfirmsAConfidentLoneNewcomerAtOnce) {
  rt::Tracker tracker;  // min_hits 2, confirm_threshold 0.7
  tracker.update({});   // after the first frame, where every track is confirmed at once anyway
  // Confident and alone: an id on its first detection.
  auto out = tracker.update({obs(box_at(50, 50, 30, 30), 0.9f)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, 1u);
  // Less sure (0.65 starts a track, but below confirm_threshold), or touching another track: wait for min_hits.
  out = tracker.update({obs(box_at(52, 50, 30, 30), 0.9f), obs(box_at(200, 50, 30, 30), 0.65f),
                        obs(box_at(80, 50, 30, 30), 0.95f)});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].observation, 0);
  out = tracker.update({obs(box_at(54, 50, 30, 30), 0.9f), obs(box_at(200, 50, 30, 30), 0.65f),
                        obs(box_at(80, 50, 30, 30), 0.95f)});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].id, 2u);
  EXPECT_EQ(out[2].id, 3u);
  // Confirmed on one detection and never seen again: dropped on its first miss, not kept (nor coasted).
  out = tracker.update({obs(box_at(56, 50, 30, 30), 0.9f), obs(box_at(200, 50, 30, 30), 0.65f),
                        obs(box_at(80, 50, 30, 30), 0.95f), obs(box_at(150, 150, 30, 30), 0.9f)});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[3].id, 4u);
  EXPECT_EQ(tracker.track_count(), 4u);
  tracker.update({obs(box_at(58, 50, 30, 30), 0.9f), obs(box_at(200, 50, 30, 30), 0.65f),
                  obs(box_at(80, 50, 30, 30), 0.95f)});
  EXPECT_EQ(tracker.track_count(), 3u);
  // Off (1): a confident newcomer waits for min_hits too.
  rt::TrackerSettings off;
  off.confirm_threshold = 1;
  rt::Tracker waiting(off);
  waiting.update({});
  EXPECT_TRUE(waiting.update({obs(box_at(50, 50, 30, 30), 0.99f)}).empty());
  EXPECT_EQ(waiting.update({obs(box_at(52, 50, 30, 30), 0.99f)}).size(), 1u);
}

TEST(Tracker, PerClassKeepsEachTrackToItsClass) {
  // A square, then a circle where the square was (the square gone): by default the circle continues the
  // square's track; per_class, it is another object with an id of its own.
  for (const bool per_class : {false, true}) {
    SCOPED_TRACE(per_class ? "per class" : "any class");
    rt::TrackerSettings settings;
    settings.per_class = per_class;
    rt::Tracker tracker(settings);
    auto out = tracker.update({obs(box_at(50, 50, 30, 30), 0.9f, "square")});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].id, 1u);
    tracker.update({obs(box_at(52, 50, 30, 30), 0.9f, "circle")});
    out = tracker.update({obs(box_at(54, 50, 30, 30), 0.9f, "circle")});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].id, per_class ? 2u : 1u);
    EXPECT_EQ(out[0].label, "circle");
  }
}

TEST(Tracker, AppearanceKeepsTwoObjectsThatMeetAndTurnBackApart) {
  // A red and a blue square meet (overlapping, the red one partly covering the blue one) and both turn back the
  // way they came. Constant velocity carries each track on, onto the other object: by IoU alone the ids swap.
  // With their colours (descriptors: one bin each, mixed where the boxes overlap) each track keeps its object.
  const auto run = [](bool with_appearance) {
    rt::Tracker tracker;
    std::vector<float> red(rt::kAppearanceSize, 0.f), blue(rt::kAppearanceSize, 0.f);
    red[0] = 1;
    blue[rt::kAppearanceSize - 1] = 1;
    std::vector<std::pair<uint64_t, uint64_t>> ids;  // (red's id, blue's id) per frame
    for (int f = 0; f < 31; ++f) {
      // 15 frames towards each other at 10 px per frame, to centres 14 px apart (IoU 0.3: not duplicates),
      // then straight back: each one's predicted box is then nearer the other object than its own.
      const float step = 10.f * static_cast<float>(f <= 15 ? f : 30 - f);
      rt::Observation a = obs(box_at(50 + step, 100, 30, 30)), b = obs(box_at(364 - step, 104, 30, 30));
      if (with_appearance) {
        const float overlap = std::max(0.f, 1 - std::abs(a.box.cx() - b.box.cx()) / 30);  // share covered
        a.appearance = red;
        b.appearance = blue;
        for (size_t i = 0; i < rt::kAppearanceSize; ++i)
          b.appearance[i] = (1 - overlap / 2) * blue[i] + overlap / 2 * red[i];
      }
      uint64_t id_a = 0, id_b = 0;
      for (const auto& t : tracker.update({a, b})) (t.observation == 0 ? id_a : id_b) = t.id;
      ids.emplace_back(id_a, id_b);
    }
    return ids;
  };
  const auto first_and_last = [](const std::vector<std::pair<uint64_t, uint64_t>>& ids) {
    return std::make_pair(ids.front(), ids.back());
  };
  // IoU alone: the tracks swap objects (the premise: otherwise this case shows nothing).
  const auto [plain_first, plain_last] = first_and_last(run(false));
  EXPECT_EQ(plain_last.first, plain_first.second);
  EXPECT_EQ(plain_last.second, plain_first.first);
  // With the appearance cue: every frame, each object keeps its id.
  const auto ids = run(true);
  for (size_t f = 0; f < ids.size(); ++f) {
    SCOPED_TRACE("frame " + std::to_string(f));
    EXPECT_EQ(ids[f].first, ids[0].first);
    EXPECT_EQ(ids[f].second, ids[0].second);
  }
  EXPECT_NE(ids[0].first, ids[0].second);
}

TEST(Tracker, AppearanceGatesOnlyWhereBothHaveADescriptor) {
  // Descriptors on one side only (a track without one, or a producer without pixels) do not gate; and the
  // Hellinger distance: 0 for equal histograms, 1 for disjoint ones, -1 for a missing one.
  std::vector<float> a(rt::kAppearanceSize, 0.f), b(rt::kAppearanceSize, 0.f);
  a[3] = 1;
  b[5] = 1;
  EXPECT_FLOAT_EQ(rt::appearance_distance(a, a), 0.f);
  EXPECT_FLOAT_EQ(rt::appearance_distance(a, b), 1.f);
  EXPECT_FLOAT_EQ(rt::appearance_distance(a, {}), -1.f);
  rt::Tracker tracker;
  ASSERT_EQ(tracker.update({obs(box_at(50, 50, 30, 30))}).size(), 1u);  // a track without a descriptor
  rt::Observation o = obs(box_at(53, 50, 30, 30));
  o.appearance = b;
  auto out = tracker.update({o});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id, 1u);
  // Now the track has b's colours: a detection of a's colours on it is another object; of b's, the same one.
  o = obs(box_at(56, 50, 30, 30));
  o.appearance = a;
  out = tracker.update({o});
  EXPECT_TRUE(out.empty() || out[0].id != 1u);
}
