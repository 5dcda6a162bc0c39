// retinanetdetect's stream policy on its own, no pipeline: which frames are inferred and which carry (stale), the
// fresh starts after a flush or a size change, the class filter, max-detections counted after it, and when the
// detector's thresholds must change.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gst/stream_policy.h"

using retinanet::Detection;
using retinanet::Detections;
using retinanet::gst::FramePlan;
using retinanet::gst::StreamPolicy;
using retinanet::gst::StreamSettings;
using retinanet::Thresholds;

namespace {

constexpr int kWidth = 320, kHeight = 240;

retinanet::ModelConfig shapes_model() {
  retinanet::ModelConfig config;
  config.num_classes = 4;
  config.labels = {"", "circle", "square", "triangle"};
  config.detections_per_img = 300;
  return config;
}

Detection detection(int label, float score) {
  static const char* const names[] = {"", "circle", "square", "triangle"};
  Detection d;
  d.label = label;
  d.name = names[label];
  d.score = score;
  d.x1 = 10 * label, d.y1 = 5, d.x2 = 10 * label + 8, d.y2 = 20;
  return d;
}

// By decreasing score, as the detector returns them: square, circle, square, triangle, circle, triangle, square.
Detections answer() {
  return {detection(2, 0.9f), detection(1, 0.8f), detection(2, 0.7f), detection(3, 0.6f),
          detection(1, 0.5f), detection(3, 0.4f), detection(2, 0.3f)};
}

std::vector<int> labels(const Detections& detections) {
  std::vector<int> out;
  for (const Detection& d : detections) out.push_back(d.label);
  return out;
}
std::vector<float> scores(const Detections& detections) {
  std::vector<float> out;
  for (const Detection& d : detections) out.push_back(d.score);
  return out;
}

StreamSettings every(unsigned interval) {
  StreamSettings settings;
  settings.interval = interval;
  return settings;
}

// Plans one frame and, when it is to be inferred, answers with `answer`.
FramePlan step(StreamPolicy& policy, const StreamSettings& settings, const Detections& answer,
               int width = kWidth, int height = kHeight) {
  const FramePlan plan = policy.plan(settings, width, height);
  if (plan.infer) policy.inferred(answer);
  return plan;
}

TEST(StreamPolicy, IntervalInfersEveryNthFrameAndCarriesInBetween) {
  StreamPolicy policy(shapes_model(), Thresholds());
  const Detections first = answer(), second = {detection(3, 0.95f)};
  std::vector<bool> inferred;
  for (int i = 0; i < 8; ++i) {
    const FramePlan plan = step(policy, every(3), i < 3 ? first : second);
    EXPECT_EQ(plan.frame, static_cast<uint64_t>(i));
    inferred.push_back(plan.infer);
    // A carried frame has the last inference's detections (marked stale by the element: !plan.infer).
    EXPECT_EQ(scores(policy.detections()), scores(i < 3 ? first : second)) << "frame " << i;
  }
  EXPECT_EQ(inferred, std::vector<bool>({true, false, false, true, false, false, true, false}));
}

TEST(StreamPolicy, IntervalOneInfersEveryFrame) {
  StreamPolicy policy(shapes_model(), Thresholds());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(step(policy, every(1), answer()).infer) << i;
  // 0 is no valid property value, but it must not mean "never".
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(step(policy, every(0), answer()).infer) << i;
}

TEST(StreamPolicy, IntervalChangedWhilePlayingCountsFromTheLastInference) {
  StreamPolicy policy(shapes_model(), Thresholds());
  EXPECT_TRUE(step(policy, every(10), answer()).infer);
  EXPECT_FALSE(step(policy, every(10), answer()).infer);
  EXPECT_FALSE(step(policy, every(10), answer()).infer);
  // Two frames since the inference: the third one is due at interval 3.
  EXPECT_TRUE(step(policy, every(3), answer()).infer);
  EXPECT_FALSE(step(policy, every(3), answer()).infer);
}

TEST(StreamPolicy, ResetInfersAfreshAndKeepsCountingFrames) {
  StreamPolicy policy(shapes_model(), Thresholds());
  step(policy, every(100), answer());
  EXPECT_FALSE(step(policy, every(100), answer()).infer);
  policy.reset();  // a flush
  EXPECT_TRUE(policy.detections().empty()) << "nothing is carried across a flush";
  const Detections after = {detection(1, 0.66f)};
  const FramePlan plan = step(policy, every(100), after);
  EXPECT_TRUE(plan.infer);
  EXPECT_EQ(plan.frame, 2u) << "frame numbers run on across a flush";
  EXPECT_EQ(scores(policy.detections()), scores(after));
  EXPECT_FALSE(step(policy, every(100), after).infer);
}

TEST(StreamPolicy, SizeChangeInfersAfresh) {
  StreamPolicy policy(shapes_model(), Thresholds());
  step(policy, every(100), answer());
  EXPECT_FALSE(step(policy, every(100), answer()).infer);
  // Carried boxes would be in the old frame's pixels.
  EXPECT_TRUE(step(policy, every(100), answer(), 317, 239).infer);
  EXPECT_FALSE(step(policy, every(100), answer(), 317, 239).infer);
  EXPECT_TRUE(step(policy, every(100), answer(), 317, 240).infer) << "height alone";
  EXPECT_TRUE(step(policy, every(100), answer(), 316, 240).infer) << "width alone";
}

TEST(StreamPolicy, ClassesByNameOrIdTrimmed) {
  StreamPolicy policy(shapes_model(), Thresholds());
  EXPECT_TRUE(policy.set_classes(" square ,\t1 ").empty());
  EXPECT_EQ(policy.classes(), " square ,\t1 ");
  step(policy, every(1), answer());
  EXPECT_EQ(labels(policy.detections()), std::vector<int>({2, 1, 2, 1, 2}));
  EXPECT_TRUE(policy.set_classes("3").empty());
  step(policy, every(1), answer());
  EXPECT_EQ(labels(policy.detections()), std::vector<int>({3, 3}));
}

TEST(StreamPolicy, EmptyClassesKeepEveryClass) {
  StreamPolicy policy(shapes_model(), Thresholds());
  for (const char* text : {"", " , ,", "circle", ""}) policy.set_classes(text);
  step(policy, every(1), answer());
  EXPECT_EQ(labels(policy.detections()), labels(answer()));
  policy.set_classes(" , ");
  EXPECT_EQ(labels(policy.detections()), labels(answer()));
}

TEST(StreamPolicy, UnknownClassesAreReportedOncePerChange) {
  StreamPolicy policy(shapes_model(), Thresholds());
  EXPECT_EQ(policy.set_classes("circle, dog,7 , 3,Square"), std::vector<std::string>({"dog", "7", "Square"}));
  EXPECT_TRUE(policy.set_classes("circle, dog,7 , 3,Square").empty()) << "the same text: reported already";
  EXPECT_EQ(policy.set_classes("dog"), std::vector<std::string>({"dog"}));
  // An unknown name matches nothing; the known ones still filter.
  step(policy, every(1), answer());
  EXPECT_TRUE(policy.detections().empty());
  policy.set_classes("dog, triangle");
  EXPECT_EQ(labels(policy.detections()), std::vector<int>({3, 3}));
}

TEST(StreamPolicy, ClassFilterChangeAppliesToCarriedFrames) {
  StreamPolicy policy(shapes_model(), Thresholds());
  step(policy, every(5), answer());
  policy.set_classes("circle");
  EXPECT_FALSE(step(policy, every(5), answer()).infer);
  EXPECT_EQ(labels(policy.detections()), std::vector<int>({1, 1}));
}

TEST(StreamPolicy, ThresholdChangesAreSignalledOnInferredFramesOnlyWhenChanged) {
  const Thresholds start{0.2f, 0.5f, 0, {}, false};
  StreamPolicy policy(shapes_model(), start);
  StreamSettings settings = every(2);
  settings.thresholds = start;
  FramePlan plan = step(policy, settings, answer());
  EXPECT_TRUE(plan.infer);
  EXPECT_FALSE(plan.update_thresholds) << "the detector was created with these";

  // Changed on a carried frame: nothing to tell the detector until the next inference.
  settings.thresholds = {0.3f, 0.4f, 7, {}, false};
  plan = step(policy, settings, answer());
  EXPECT_FALSE(plan.infer);
  EXPECT_FALSE(plan.update_thresholds);
  plan = step(policy, settings, answer());
  EXPECT_TRUE(plan.infer);
  EXPECT_TRUE(plan.update_thresholds);
  EXPECT_EQ(plan.detector, (Thresholds{0.3f, 0.4f, 7, {}, false}));
  // Unchanged: not again.
  step(policy, settings, answer());
  plan = step(policy, settings, answer());
  EXPECT_TRUE(plan.infer);
  EXPECT_FALSE(plan.update_thresholds);
  // Each one alone counts, and back to the model's settings too.
  for (const Thresholds& t : {Thresholds{0.35f, 0.4f, 7, {}, false}, Thresholds{0.35f, 0.45f, 7, {}, false},
                              Thresholds{0.35f, 0.45f, 8, {}, false}, Thresholds{-1, -1, 0, {}, false}}) {
    settings.thresholds = t;
    settings.interval = 1;
    plan = step(policy, settings, answer());
    EXPECT_TRUE(plan.update_thresholds);
    EXPECT_EQ(plan.detector, t);
  }
}

TEST(StreamPolicy, WithoutAFilterTheDetectorCapsTheDetections) {
  StreamPolicy policy(shapes_model(), Thresholds());
  StreamSettings settings = every(1);
  settings.thresholds.max_detections = 3;
  const FramePlan plan = policy.plan(settings, kWidth, kHeight);
  EXPECT_EQ(plan.detector.max_detections, 3);
  Detections capped = answer();
  capped.resize(3);
  policy.inferred(capped);
  EXPECT_EQ(scores(policy.detections()), scores(capped));
}

// The bug this policy fixes: the detector capped at max-detections before the filter dropped classes, so
// classes=circle,triangle max-detections=3 could give fewer than 3 although there were more circles and triangles.
TEST(StreamPolicy, MaxDetectionsCountsAfterTheClassFilter) {
  StreamPolicy policy(shapes_model(), Thresholds());
  policy.set_classes("circle,triangle");
  StreamSettings settings = every(1);
  settings.thresholds.max_detections = 3;
  FramePlan plan = policy.plan(settings, kWidth, kHeight);
  EXPECT_TRUE(plan.update_thresholds);
  EXPECT_EQ(plan.detector.max_detections, 300) << "the model's own cap, the larger";
  policy.inferred(answer());
  EXPECT_EQ(labels(policy.detections()), std::vector<int>({1, 3, 1}));
  EXPECT_EQ(scores(policy.detections()), std::vector<float>({0.8f, 0.6f, 0.5f}));

  // More than the model's cap: the detector is asked for that many.
  settings.thresholds.max_detections = 500;
  plan = policy.plan(settings, kWidth, kHeight);
  EXPECT_EQ(plan.detector.max_detections, 500);
  policy.inferred(answer());
  EXPECT_EQ(labels(policy.detections()), std::vector<int>({1, 3, 1, 3}));

  // max-detections 0 (the model's): the model's cap, nothing cut after the filter.
  settings.thresholds.max_detections = 0;
  plan = policy.plan(settings, kWidth, kHeight);
  EXPECT_EQ(plan.detector.max_detections, 0);
  policy.inferred(answer());
  EXPECT_EQ(labels(policy.detections()), std::vector<int>({1, 3, 1, 3}));

  // The filter removed: the detector caps again, which the policy tells it.
  policy.set_classes("");
  settings.thresholds.max_detections = 3;
  plan = policy.plan(settings, kWidth, kHeight);
  EXPECT_TRUE(plan.update_thresholds);
  EXPECT_EQ(plan.detector.max_detections, 3);
}

TEST(StreamPolicy, CarriedFramesKeepTheCapTheirInferenceWasAskedWith) {
  StreamPolicy policy(shapes_model(), Thresholds());
  policy.set_classes("square");
  StreamSettings settings = every(3);
  settings.thresholds.max_detections = 2;
  step(policy, settings, answer());
  EXPECT_EQ(scores(policy.detections()), std::vector<float>({0.9f, 0.7f}));
  // max-detections applies from the next inferred frame, as the thresholds do.
  settings.thresholds.max_detections = 1;
  EXPECT_FALSE(step(policy, settings, answer()).infer);
  EXPECT_EQ(scores(policy.detections()), std::vector<float>({0.9f, 0.7f}));
  step(policy, settings, answer());
  EXPECT_TRUE(step(policy, settings, answer()).infer);
  EXPECT_EQ(scores(policy.detections()), std::vector<float>({0.9f}));
}

}  // namespace

namespace {

// QoS: a late frame is not inferred and carries the last answer; the next frame on time is inferred at once, even
// within an interval; the carried frames know which frame their answer is from.
TEST(StreamPolicy, LateFramesCarryAndTheNextOnTimeIsInferred) {
  StreamPolicy policy(shapes_model(), Thresholds());
  StreamSettings settings = every(1);
  const FramePlan first = policy.plan(settings, kWidth, kHeight, 1000);
  ASSERT_TRUE(first.infer);
  policy.inferred(answer());
  settings.late = true;
  for (int i = 1; i <= 3; ++i) {
    const FramePlan late = policy.plan(settings, kWidth, kHeight, 1000 + i);
    EXPECT_FALSE(late.infer) << "late frame " << i;
    EXPECT_EQ(policy.detections().size(), answer().size());
    EXPECT_EQ(late.frame - policy.answer_frame(), static_cast<uint64_t>(i)) << "age";
    EXPECT_EQ(policy.answer_pts(), 1000);
  }
  settings.late = false;
  EXPECT_TRUE(policy.plan(settings, kWidth, kHeight, 1004).infer);
  // Nothing to carry yet and late: not inferred either (the next frame on time is).
  StreamPolicy fresh(shapes_model(), Thresholds());
  settings.late = true;
  EXPECT_FALSE(fresh.plan(settings, kWidth, kHeight).infer);
  EXPECT_TRUE(fresh.detections().empty());
  settings.late = false;
  EXPECT_TRUE(fresh.plan(settings, kWidth, kHeight).infer);
}

// mode=async: frames are handed over (submitted) and their answers arrive later, for earlier frames; the interval
// counts from the hand-over; an answer older than the one held is ignored.
TEST(StreamPolicy, AsyncAnswersArriveForEarlierFrames) {
  StreamPolicy policy(shapes_model(), Thresholds());
  const StreamSettings settings = every(2);
  FramePlan p0 = policy.plan(settings, kWidth, kHeight, 0);
  ASSERT_TRUE(p0.infer);
  policy.submitted();
  // No answer yet: the next frame is offered again (there is nothing to carry).
  FramePlan p1 = policy.plan(settings, kWidth, kHeight, 10);
  EXPECT_TRUE(p1.infer);
  policy.submitted();
  EXPECT_FALSE(policy.has_answer());
  policy.arrived(answer(), p1.frame, 10);
  ASSERT_TRUE(policy.has_answer());
  EXPECT_EQ(policy.answer_frame(), p1.frame);
  // An answer for p0 (older) comes late: ignored.
  policy.arrived({detection(3, 0.99f)}, p0.frame, 0);
  EXPECT_EQ(policy.answer_frame(), p1.frame);
  EXPECT_EQ(labels(policy.detections()), labels(answer()));
  // interval 2 from the last hand-over: frame 2 carries, frame 3 is offered.
  EXPECT_FALSE(policy.plan(settings, kWidth, kHeight, 20).infer);
  EXPECT_TRUE(policy.plan(settings, kWidth, kHeight, 30).infer);
}

}  // namespace

namespace {

// class-thresholds: parsed against the model's labels, carried to the detector on every inferred frame (a change
// counts as a thresholds change), a bad text refused with its reason once, the previous thresholds kept.
TEST(StreamPolicy, ClassThresholdsReachTheDetector) {
  StreamPolicy policy(shapes_model(), Thresholds{});
  EXPECT_EQ(policy.set_class_thresholds("square=0.6, 1=0.3"), "");
  FramePlan plan = step(policy, every(1), answer());
  EXPECT_TRUE(plan.update_thresholds);
  EXPECT_EQ(plan.detector.class_score, (std::vector<float>{-1, 0.3f, 0.6f, -1}));
  plan = step(policy, every(1), answer());
  EXPECT_FALSE(plan.update_thresholds);

  const std::string refused = policy.set_class_thresholds("square=0.6,hexagon=0.2");
  EXPECT_NE(refused.find("'hexagon' is not a label"), std::string::npos) << refused;
  EXPECT_EQ(policy.set_class_thresholds("square=0.6,hexagon=0.2"), "") << "reported once";
  plan = step(policy, every(1), answer());
  EXPECT_EQ(plan.detector.class_score, (std::vector<float>{-1, 0.3f, 0.6f, -1})) << "the previous ones stay";

  EXPECT_EQ(policy.set_class_thresholds(""), "");
  StreamSettings agnostic = every(1);
  agnostic.thresholds.agnostic_nms = true;
  plan = step(policy, agnostic, answer());
  EXPECT_TRUE(plan.update_thresholds);
  EXPECT_TRUE(plan.detector.class_score.empty());
  EXPECT_TRUE(plan.detector.agnostic_nms);
}

}  // namespace
