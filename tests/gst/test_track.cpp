// retinanettrack with GstHarness: ids that stay on objects that cross, hide and come back, ids never reused for
// objects that enter after others left, predicted boxes that move with the objects on frames without fresh
// detections (retinanetdetect's stale frames, or a producer that attaches nothing between inferences), metas of
// other producers, resets on flush and on new caps, every format, and the ids in retinanetjson's lines.
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include <opencv2/imgproc.hpp>

#include "gst/appearance.h"
#include "gst/detection_meta.h"
#include "gst/frame_view.h"
#include "gst_test_util.h"
#include "tracking/appearance.h"

namespace {

constexpr int kWidth = 320, kHeight = 240;

retinanet::Detection detection(float cx, float cy, float size, const char* name = "square", float score = 0.9f) {
  retinanet::Detection d;
  d.label = 2;
  d.name = name;
  d.score = score;
  d.x1 = cx - size / 2;
  d.y1 = cy - size / 2;
  d.x2 = cx + size / 2;
  d.y2 = cy + size / 2;
  return d;
}

float iou(const retinanet::gst::Region& r, const retinanet::Detection& d) {
  const float x1 = std::max<float>(r.x, d.x1), y1 = std::max<float>(r.y, d.y1);
  const float x2 = std::min<float>(r.x + r.w, d.x2), y2 = std::min<float>(r.y + r.h, d.y2);
  if (x2 <= x1 || y2 <= y1) return 0;
  const float inter = (x2 - x1) * (y2 - y1);
  return inter / (r.w * r.h + (d.x2 - d.x1) * (d.y2 - d.y1) - inter);
}

class TrackHarness {
 public:
  explicit TrackHarness(const std::string& launch = "retinanettrack", GstVideoFormat format = GST_VIDEO_FORMAT_RGB,
                        int width = kWidth, int height = kHeight)
      // A lone element is the harness's own element (its properties reachable); a launch line is wrapped in a bin.
      : h_(launch.find(' ') == std::string::npos ? gst_harness_new(launch.c_str())
                                                 : gst_harness_new_parse(launch.c_str())) {
    set_caps(format, width, height);
  }
  ~TrackHarness() { gst_harness_teardown(h_); }
  GstHarness* get() { return h_; }

  void set_caps(GstVideoFormat format, int width, int height) {
    frame_ = gst_test::make_frame(cv::Mat(height, width, CV_8UC3, cv::Scalar(60, 70, 80)), format);
    gst_harness_set_src_caps_str(h_, gst_test::caps_string(frame_).c_str());
  }

  // One frame with `detections` attached as retinanetdetect attaches them (stale: carried), or with foreign
  // metas (label and box only); returns the regions the tracker leaves on it.
  std::vector<retinanet::gst::Region> push(const std::vector<retinanet::Detection>& detections, bool stale = false,
                                           bool foreign = false) {
    GstBuffer* in = gst_test::make_buffer(frame_, pts_);
    pts_ += kPeriod;
    if (foreign) {
      for (const retinanet::Detection& d : detections)
        gst_buffer_add_video_region_of_interest_meta(in, d.name.c_str(), static_cast<guint>(d.x1),
                                                     static_cast<guint>(d.y1), static_cast<guint>(d.x2 - d.x1),
                                                     static_cast<guint>(d.y2 - d.y1));
    } else {
      retinanet::gst::attach_detections(in, detections, frame_.width, frame_.height, stale);
    }
    GstBuffer* out = gst_harness_push_and_pull(h_, in);
    EXPECT_NE(out, nullptr);
    if (!out) return {};
    std::vector<retinanet::gst::Region> regions = retinanet::gst::read_regions(out);
    gst_buffer_unref(out);
    return regions;
  }
  // Frames that never reach the element (dropped upstream): their time passes.
  void drop(int frames) { pts_ += frames * kPeriod; }

  // Frames 1/15 s apart, under caps that say 30/1: the element goes by the timestamps, not the caps' rate.
  static constexpr GstClockTime kPeriod = GST_SECOND / 15;

 private:
  GstHarness* h_;
  gst_test::Frame frame_;
  GstClockTime pts_ = 0;
};

// The id of the tracked region that best overlaps `d` (IoU above 0.5), or -1.
int id_of(const std::vector<retinanet::gst::Region>& regions, const retinanet::Detection& d) {
  int id = -1;
  float best = 0.5f;
  for (const auto& r : regions)
    if (r.object_id >= 0 && iou(r, d) > best) {
      best = iou(r, d);
      id = r.object_id;
    }
  return id;
}

// Two squares cross, a circle is hidden for five frames, a triangle leaves and another enters later.
TEST(Track, IdsStayThroughCrossingsAndHidingAndAreNeverReused) {
  TrackHarness h("retinanettrack coast-misses=1");
  std::map<std::string, std::set<int>> ids;
  std::set<int> ids_before_leaving;
  for (int f = 0; f < 40; ++f) {
    std::vector<retinanet::Detection> objects = {
        detection(20 + 6.f * f, 100, 30),                 // a: rightwards
        detection(280 - 6.f * f, 106, 30),                // b: leftwards, crossing a around frame 22
    };
    const bool circle_visible = f < 10 || f >= 15;
    if (circle_visible) objects.push_back(detection(60, 200, 40, "circle"));
    const float leaving_y = 60 - 8.f * f;                  // the triangle leaves through the top by frame 10
    if (leaving_y > -10) objects.push_back(detection(200, leaving_y, 30, "triangle"));
    const bool entering = f >= 25;
    if (entering) objects.push_back(detection(330 - 5.f * (f - 25), 170, 30, "triangle"));
    const auto regions = h.push(objects);

    if (f == 0) {  // tracks on the first frame are confirmed at once
      for (const auto& r : regions) EXPECT_GE(r.object_id, 1);
    }
    // Predicted boxes (coast-misses=1) only where a detection went missing: the first frame the circle is
    // hidden, the frame the triangle left, and while a and b overlap so much that one counts as a duplicate.
    for (const auto& r : regions) {
      if (r.predicted) {
        EXPECT_TRUE((f == 10 && r.label == "circle") || f == 9 || (f >= 19 && f <= 25)) << f;
      }
    }
    ids["a"].insert(id_of(regions, objects[0]));
    ids["b"].insert(id_of(regions, objects[1]));
    if (circle_visible) ids["circle"].insert(id_of(regions, objects[2]));
    if (leaving_y > -10 && leaving_y > 20) ids["leaving"].insert(id_of(regions, objects[circle_visible ? 3 : 2]));
    if (entering && f >= 31) ids["entering"].insert(id_of(regions, objects.back()));
    if (f < 12)
      for (const auto& r : regions) ids_before_leaving.insert(r.object_id);
  }
  for (const char* name : {"a", "b", "circle", "leaving", "entering"}) {
    SCOPED_TRACE(name);
    std::string seen;
    for (int id : ids[name]) seen += std::to_string(id) + " ";
    ASSERT_EQ(ids[name].size(), 1u) << seen;
    EXPECT_GE(*ids[name].begin(), 1);
  }
  EXPECT_NE(*ids["a"].begin(), *ids["b"].begin());
  // The newcomer's id is a new one: not the id of the triangle that left, nor any other earlier one.
  EXPECT_EQ(ids_before_leaving.count(*ids["entering"].begin()), 0u);
}

// retinanetdetect interval=3: fresh detections on every third frame, the same detections carried (stale) on the
// frames between. The tracker replaces those with predicted boxes that keep up with the objects.
TEST(Track, PredictedBoxesMoveWithTheObjectsOnStaleFrames) {
  TrackHarness h;
  std::vector<retinanet::Detection> last;
  int id = -1, predicted_frames = 0;
  for (int f = 0; f < 45; ++f) {
    const retinanet::Detection truth = detection(30 + 5.f * f, 60 + 3.f * f, 36);
    const bool fresh = f % 3 == 0;
    if (fresh) last = {truth};
    const auto regions = h.push(last, !fresh);
    ASSERT_EQ(regions.size(), 1u) << "frame " << f;
    const auto& r = regions[0];
    if (id < 0) id = r.object_id;
    EXPECT_EQ(r.object_id, id) << "frame " << f;
    EXPECT_EQ(r.predicted, !fresh);
    EXPECT_EQ(r.stale, !fresh);
    EXPECT_EQ(r.label, "square");
    if (!fresh && f > 9) {  // once the velocity is known: on the object, not where it was
      ++predicted_frames;
      EXPECT_GT(iou(r, truth), 0.7f) << "frame " << f;
      EXPECT_LT(iou(r, last[0]), iou(r, truth)) << "frame " << f;
      EXPECT_TRUE(r.has_detection);
      EXPECT_NEAR(r.confidence, 0.9, 1e-6);
    }
  }
  EXPECT_GT(predicted_frames, 20);
}

// Another producer's metas (no `detection` param) on every other frame and nothing in between: tracked, and once
// the tracker has seen the rhythm, the frames between get predicted boxes.
TEST(Track, ForeignProducerInferringEveryOtherFrame) {
  TrackHarness h;
  int id = -1, predicted = 0;
  for (int f = 0; f < 30; ++f) {
    const retinanet::Detection car = detection(40 + 4.f * f, 120, 40, "car");
    const bool inferred = f % 2 == 0;
    const auto regions = h.push(inferred ? std::vector<retinanet::Detection>{car} : std::vector<retinanet::Detection>{},
                                false, true);
    if (inferred) {
      ASSERT_EQ(regions.size(), 1u);
      EXPECT_FALSE(regions[0].has_detection);
      if (id < 0) id = regions[0].object_id;
      EXPECT_EQ(regions[0].object_id, id);
      EXPECT_GE(id, 1);
    } else if (f > 4) {
      ASSERT_EQ(regions.size(), 1u) << "frame " << f;
      EXPECT_TRUE(regions[0].predicted);
      EXPECT_EQ(regions[0].object_id, id);
      EXPECT_EQ(regions[0].label, "car");
      EXPECT_GT(iou(regions[0], car), 0.7f);
      ++predicted;
    }
  }
  EXPECT_GT(predicted, 10);
}

// Every frame inferred and then nothing found: with coast-misses=1 the box is predicted once, then no longer;
// by default (0) never.
TEST(Track, ObjectsThatVanishLeaveNoPredictedBoxes) {
  TrackHarness h("retinanettrack coast-misses=1");
  for (int f = 0; f < 10; ++f) h.push({detection(50 + 2.f * f, 50, 30)});
  const auto coasting = h.push({});
  ASSERT_EQ(coasting.size(), 1u);
  EXPECT_TRUE(coasting[0].predicted);
  EXPECT_EQ(coasting[0].object_id, 1);
  for (int f = 0; f < 5; ++f) EXPECT_TRUE(h.push({}).empty()) << "frame " << f;
  TrackHarness strict;
  for (int f = 0; f < 10; ++f) strict.push({detection(50 + 2.f * f, 50, 30)});
  for (int f = 0; f < 5; ++f) EXPECT_TRUE(strict.push({}).empty()) << "frame " << f;
}

// An object seen last near the left edge moves on out of the frame between inferences: its predicted box is
// shown while at least half of it is inside, then no longer (a box on a sliver would be a guess).
TEST(Track, PredictedBoxesMostlyOutsideTheFrameAreNotShown) {
  TrackHarness h;
  std::vector<retinanet::Detection> last;
  for (int f = 0; f < 20; ++f) {
    const float cx = 100 - 6.f * f;  // 30 px across: half outside at cx 0 (frame 16.7)
    if (f < 10) last = {detection(cx, 120, 30)};
    const auto regions = h.push(last, /*stale=*/f >= 10);
    if (f < 17) {
      ASSERT_EQ(regions.size(), 1u) << "frame " << f;
      EXPECT_EQ(regions[0].object_id, 1) << "frame " << f;
    } else {
      EXPECT_TRUE(regions.empty()) << "frame " << f;
    }
  }
}

// A leaky queue before the detector dropped three frames: the next frame's prediction is where the object got to
// in the time that passed, not one frame on (which is 24 px behind, IoU 0.11); the tracker's age counts them too.
TEST(Track, DroppedFramesMoveThePredictionsByTheTimeThatPassed) {
  TrackHarness h;
  retinanet::Detection last;
  for (int f = 0; f < 10; ++f) {
    last = detection(60 + 8.f * f, 120, 30);
    ASSERT_EQ(h.push({last}).size(), 1u);
  }
  h.drop(3);  // frames 10, 11 and 12 never arrive
  for (int f = 13; f < 16; ++f) {
    const auto regions = h.push({last}, /*stale=*/true);
    ASSERT_EQ(regions.size(), 1u) << "frame " << f;
    EXPECT_TRUE(regions[0].predicted);
    EXPECT_GT(iou(regions[0], detection(60 + 8.f * f, 120, 30)), 0.7f) << "frame " << f;
  }
  // Fresh again after another drop: the object is found where it is, with its id.
  h.drop(2);
  const auto regions = h.push({detection(60 + 8.f * 18, 120, 30)});
  ASSERT_EQ(regions.size(), 1u);
  EXPECT_EQ(regions[0].object_id, 1);
}

TEST(Track, FlushAndNewCapsStartAgain) {
  TrackHarness h;
  for (int f = 0; f < 3; ++f) h.push({detection(50, 50, 30)});
  h.push({detection(150, 150, 30), detection(50, 50, 30)});
  h.push({detection(150, 150, 30), detection(50, 50, 30)});
  auto regions = h.push({detection(150, 150, 30), detection(50, 50, 30)});
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_EQ(std::max(regions[0].object_id, regions[1].object_id), 2);

  ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_flush_start()));
  ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_flush_stop(TRUE)));
  // After the flush the segment must come again.
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  ASSERT_TRUE(gst_harness_push_event(h.get(), gst_event_new_segment(&segment)));
  regions = h.push({detection(150, 150, 30)});
  ASSERT_EQ(regions.size(), 1u);
  EXPECT_EQ(regions[0].object_id, 1);

  h.push({detection(150, 150, 30), detection(50, 50, 30)});
  h.set_caps(GST_VIDEO_FORMAT_RGB, 640, 480);
  regions = h.push({detection(50, 50, 30)});
  ASSERT_EQ(regions.size(), 1u);
  EXPECT_EQ(regions[0].object_id, 1);
}

class TrackFormatTest : public testing::TestWithParam<GstVideoFormat> {};

TEST_P(TrackFormatTest, TracksOnEveryFormat) {
  TrackHarness h("retinanettrack", GetParam(), 161, 121);
  for (int f = 0; f < 4; ++f) {
    const auto regions = h.push({detection(40 + 3.f * f, 50, 30)});
    ASSERT_EQ(regions.size(), 1u);
    EXPECT_EQ(regions[0].object_id, 1);
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, TrackFormatTest, testing::ValuesIn(gst_test::all_formats()),
                         [](const testing::TestParamInfo<GstVideoFormat>& info) {
                           return std::string(gst_video_format_to_string(info.param));
                         });

// The appearance descriptor of a box in the frame `rgb` converted to `format` (the element's own mapping).
std::vector<float> descriptor_in(const cv::Mat& rgb, GstVideoFormat format, const retinanet::tracking::Box& box) {
  const gst_test::Frame frame = gst_test::make_frame(rgb, format);
  GstBuffer* buffer = gst_test::make_buffer(frame);
  GstCaps* caps = gst_caps_from_string(gst_test::caps_string(frame).c_str());
  GstVideoInfo info;
  EXPECT_TRUE(gst_video_info_from_caps(&info, caps));
  gst_caps_unref(caps);
  GstVideoFrame mapped;
  EXPECT_TRUE(gst_video_frame_map(&mapped, &info, buffer, GST_MAP_READ));
  retinanet::PixelFormat pixel_format;
  EXPECT_TRUE(retinanet::gst::pixel_format_for(format, pixel_format));
  std::vector<float> d = retinanet::gst::appearance_descriptor(retinanet::gst::image_view(mapped, pixel_format), box);
  gst_video_frame_unmap(&mapped);
  gst_buffer_unref(buffer);
  return d;
}

TEST(Track, AppearanceDescriptorsAgreeInEveryFormat) {
  // An odd-sized frame: a red square, a green-blue triangle's box and a striped patch over a gradient; boxes at
  // odd coordinates, one running out of the frame. Each format's descriptor is the RGB frame's (the YUV ones
  // within their conversion's loss), and the different patches are far apart.
  cv::Mat rgb(121, 161, CV_8UC3);
  for (int y = 0; y < rgb.rows; ++y)
    for (int x = 0; x < rgb.cols; ++x) rgb.at<cv::Vec3b>(y, x) = cv::Vec3b(x, 255 - y, (x + y) % 256);
  cv::rectangle(rgb, cv::Rect(11, 13, 41, 37), cv::Scalar(210, 40, 30), cv::FILLED);
  const std::vector<cv::Point> triangle = {{80, 20}, {120, 90}, {60, 80}};
  cv::fillConvexPoly(rgb, triangle, cv::Scalar(20, 170, 200));
  for (int y = 90; y < 121; ++y)
    for (int x = 110; x < 161; ++x)
      rgb.at<cv::Vec3b>(y, x) = (x / 4) % 2 ? cv::Vec3b(250, 250, 40) : cv::Vec3b(30, 30, 90);  // 4:2:0-aligned
  const std::vector<retinanet::tracking::Box> boxes = {
      {11.f, 13.f, 52.f, 50.f}, {59.5f, 19.3f, 121.2f, 91.f}, {109.f, 89.f, 175.f, 130.f}};
  std::vector<std::vector<float>> reference;
  for (const auto& b : boxes) {
    reference.push_back(descriptor_in(rgb, GST_VIDEO_FORMAT_RGB, b));
    ASSERT_EQ(reference.back().size(), retinanet::tracking::kAppearanceSize);
  }
  for (size_t i = 0; i < boxes.size(); ++i)
    for (size_t j = i + 1; j < boxes.size(); ++j)
      EXPECT_GT(retinanet::tracking::appearance_distance(reference[i], reference[j]), 0.6f) << i << " " << j;
  for (GstVideoFormat format : gst_test::all_formats()) {
    SCOPED_TRACE(gst_video_format_to_string(format));
    const bool yuv = format == GST_VIDEO_FORMAT_I420 || format == GST_VIDEO_FORMAT_NV12;
    for (size_t i = 0; i < boxes.size(); ++i) {
      const std::vector<float> d = descriptor_in(rgb, format, boxes[i]);
      if (yuv)
        EXPECT_LE(retinanet::tracking::appearance_distance(d, reference[i]), 0.1f) << "box " << i;
      else
        EXPECT_EQ(d, reference[i]) << "box " << i;
    }
  }
  // A box with no pixel in the frame has none.
  EXPECT_TRUE(descriptor_in(rgb, GST_VIDEO_FORMAT_I420, {170.f, 10.f, 200.f, 40.f}).empty());
}

// A red and a blue square meet and turn straight back, the red one drawn in front, on real frames. By IoU and
// motion alone the tracks follow their predictions onto the other square (the ids swap); with the appearance
// cue (the default) each keeps its square. In I420, so that the cue reads YUV pixels.
TEST(Track, AppearanceKeepsTheIdsOfSquaresThatMeetAndTurnBack) {
  for (const bool appearance : {true, false}) {
    SCOPED_TRACE(appearance ? "appearance" : "IoU and motion only");
    GstHarness* h = gst_harness_new("retinanettrack");
    g_object_set(h->element, "appearance", appearance, NULL);
    std::vector<std::pair<int, int>> ids;
    for (int f = 0; f < 31; ++f) {
      const float step = 10.f * static_cast<float>(f <= 15 ? f : 30 - f);
      const retinanet::Detection red = detection(50 + step, 100, 30), blue = detection(364 - step, 104, 30);
      cv::Mat rgb(kHeight * 2, kWidth * 2, CV_8UC3, cv::Scalar(120, 120, 120));
      const auto paint = [&](const retinanet::Detection& d, const cv::Scalar& colour) {
        cv::rectangle(rgb, cv::Rect(static_cast<int>(d.x1), static_cast<int>(d.y1), 30, 30), colour, cv::FILLED);
      };
      paint(blue, cv::Scalar(30, 40, 220));
      paint(red, cv::Scalar(220, 30, 30));
      const gst_test::Frame frame = gst_test::make_frame(rgb, GST_VIDEO_FORMAT_I420);
      if (f == 0) gst_harness_set_src_caps_str(h, gst_test::caps_string(frame).c_str());
      GstBuffer* in = gst_test::make_buffer(frame, f * GST_SECOND / 15);
      retinanet::gst::attach_detections(in, {red, blue}, frame.width, frame.height, false);
      GstBuffer* out = gst_harness_push_and_pull(h, in);
      ASSERT_NE(out, nullptr);
      const auto regions = retinanet::gst::read_regions(out);
      gst_buffer_unref(out);
      ids.emplace_back(id_of(regions, red), id_of(regions, blue));
    }
    gst_harness_teardown(h);
    ASSERT_NE(ids[0].first, ids[0].second);
    if (appearance) {
      for (size_t f = 0; f < ids.size(); ++f) EXPECT_EQ(ids[f], ids[0]) << "frame " << f;
    } else {
      EXPECT_EQ(ids.back(), std::make_pair(ids[0].second, ids[0].first));  // swapped: what the cue prevents
    }
  }
}

TEST(Track, JsonLinesCarryTheIds) {
  const std::string path = gst_test::scratch_dir("track_json") + "/tracked.jsonl";
  {
    TrackHarness h("retinanettrack min-hits=1 ! retinanetjson location=" + path);
    for (int f = 0; f < 3; ++f) h.push({detection(50 + 4.f * f, 50, 30), detection(200, 100, 40, "circle")});
  }
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    const nlohmann::json frame = nlohmann::json::parse(line);
    ASSERT_EQ(frame["detections"].size(), 2u);
    EXPECT_EQ(frame["detections"][0]["object_id"], 1);
    EXPECT_EQ(frame["detections"][1]["object_id"], 2);
    ++lines;
  }
  EXPECT_EQ(lines, 3);
}

// A predicted box (a frame the detector skipped) says so in its line, a detected one does not.
TEST(Track, JsonLinesMarkPredictedBoxes) {
  const std::string path = gst_test::scratch_dir("track_json_predicted") + "/tracked.jsonl";
  {
    TrackHarness h("retinanettrack min-hits=1 ! retinanetjson location=" + path);
    for (int f = 0; f < 2; ++f) h.push({detection(50 + 4.f * f, 50, 30)});
    h.push({detection(54, 50, 30)}, /*stale=*/true);  // carried: the tracker replaces it by its prediction
  }
  std::ifstream in(path);
  std::vector<nlohmann::json> frames;
  for (std::string line; std::getline(in, line);) frames.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(frames.size(), 3u);
  for (int f = 0; f < 3; ++f) {
    ASSERT_EQ(frames[f]["detections"].size(), 1u) << "frame " << f;
    const nlohmann::json& d = frames[f]["detections"][0];
    EXPECT_EQ(d["object_id"], 1) << "frame " << f;
    EXPECT_EQ(d.contains("predicted"), f == 2) << "frame " << f;
  }
  EXPECT_EQ(frames[2]["detections"][0]["predicted"], true);
  // Moved on with the object (4 px a frame), not the carried box.
  EXPECT_GT(frames[2]["detections"][0]["box"][0].get<double>(), 54 - 15 + 1);
}

TEST(Track, PropertiesHaveTheirDefaultsAndTakeEffect) {
  GstElement* track = gst_element_factory_make("retinanettrack", nullptr);
  ASSERT_NE(track, nullptr);
  guint min_hits = 0, max_age = 0;
  gdouble high = 0, low = 0, iou_threshold = 0;
  g_object_get(track, "min-hits", &min_hits, "max-age", &max_age, "high-threshold", &high, "low-threshold", &low,
               "iou-threshold", &iou_threshold, nullptr);
  EXPECT_EQ(min_hits, 2u);
  EXPECT_EQ(max_age, 30u);
  EXPECT_DOUBLE_EQ(high, 0.5);
  EXPECT_DOUBLE_EQ(low, 0.1);
  EXPECT_DOUBLE_EQ(iou_threshold, 0.2);
  gdouble confirm = 0;
  guint coast = 1;
  g_object_get(track, "confirm-threshold", &confirm, "coast-misses", &coast, nullptr);
  EXPECT_DOUBLE_EQ(confirm, 0.7);
  EXPECT_EQ(coast, 0u);
  gboolean per_class = TRUE;
  g_object_get(track, "per-class", &per_class, nullptr);
  EXPECT_FALSE(per_class);
  gboolean appearance = FALSE;
  gdouble appearance_threshold = 0;
  g_object_get(track, "appearance", &appearance, "appearance-threshold", &appearance_threshold, nullptr);
  EXPECT_TRUE(appearance);
  EXPECT_DOUBLE_EQ(appearance_threshold, 0.5);
  gst_object_unref(track);

  // By default a newcomer detected at 0.9, alone, is shown with an id at once.
  {
    TrackHarness quick;
    quick.push({});
    EXPECT_EQ(quick.push({detection(50, 50, 30)})[0].object_id, 1);
  }
  // per-class: a circle where a square was is another object.
  {
    TrackHarness classes("retinanettrack per-class=true");
    EXPECT_EQ(classes.push({detection(50, 50, 30, "square")})[0].object_id, 1);
    retinanet::Detection circle = detection(52, 50, 30, "circle");
    circle.label = 1;  // the classes differ by label id, as retinanetdetect's do
    classes.push({circle});
    circle.x1 += 2;
    circle.x2 += 2;
    EXPECT_EQ(classes.push({circle})[0].object_id, 2);
  }
  // min-hits=3, confirm-threshold=1: a newcomer (after the first frame) is shown with an id on its third detection.
  TrackHarness h("retinanettrack min-hits=3 confirm-threshold=1");
  h.push({});
  EXPECT_EQ(h.push({detection(50, 50, 30)})[0].object_id, -1);
  EXPECT_EQ(h.push({detection(52, 50, 30)})[0].object_id, -1);
  EXPECT_EQ(h.push({detection(54, 50, 30)})[0].object_id, 1);
}

}  // namespace

namespace {

template <typename T>
void stress(GstHarness* h, const char* name, GType type, std::initializer_list<T> values,
            std::vector<GstHarnessThread*>& threads, void (*set)(GValue*, T)) {
  for (const T& v : values) {
    GValue value = G_VALUE_INIT;
    g_value_init(&value, type);
    set(&value, v);
    threads.push_back(gst_harness_stress_property_start_full(h, name, &value, 200));
    g_value_unset(&value);
  }
}

}  // namespace

// retinanettrack's and the overlay's tracking properties changed from other threads while frames flow (run by
// gst-lifecycle, under the leaks tracer): nothing crashes, the one object keeps the one id.
TEST(Lifecycle, TrackPropertiesChangeWhileBuffersFlow) {
  TrackHarness track;
  GstHarness* overlay = gst_harness_new("retinanetoverlay");
  const gst_test::Frame f = gst_test::make_frame(cv::Mat(kHeight, kWidth, CV_8UC3, cv::Scalar(60, 70, 80)),
                                                 GST_VIDEO_FORMAT_RGB);
  gst_harness_set_src_caps_str(overlay, gst_test::caps_string(f).c_str());
  std::vector<GstHarnessThread*> threads;
  auto set_uint = [](GValue* v, guint x) { g_value_set_uint(v, x); };
  auto set_double = [](GValue* v, double x) { g_value_set_double(v, x); };
  auto set_bool = [](GValue* v, bool x) { g_value_set_boolean(v, x); };
  auto set_string = [](GValue* v, const char* x) { g_value_set_string(v, x); };
  stress<guint>(track.get(), "min-hits", G_TYPE_UINT, {1u, 3u}, threads, set_uint);
  stress<guint>(track.get(), "max-age", G_TYPE_UINT, {5u, 30u}, threads, set_uint);
  stress<guint>(track.get(), "coast-misses", G_TYPE_UINT, {0u, 2u}, threads, set_uint);
  stress<double>(track.get(), "high-threshold", G_TYPE_DOUBLE, {0.4, 0.6}, threads, set_double);
  stress<double>(track.get(), "iou-threshold", G_TYPE_DOUBLE, {0.1, 0.3}, threads, set_double);
  stress<double>(track.get(), "confirm-threshold", G_TYPE_DOUBLE, {0.6, 1.0}, threads, set_double);
  stress<bool>(track.get(), "per-class", G_TYPE_BOOLEAN, {true, false}, threads, set_bool);
  stress<bool>(track.get(), "appearance", G_TYPE_BOOLEAN, {false, true}, threads, set_bool);
  stress<double>(track.get(), "appearance-threshold", G_TYPE_DOUBLE, {0.3, 0.6}, threads, set_double);
  stress<bool>(overlay, "show-ids", G_TYPE_BOOLEAN, {true, false}, threads, set_bool);
  stress<guint>(overlay, "trail-length", G_TYPE_UINT, {0u, 10u}, threads, set_uint);
  stress<const char*>(overlay, "class-colors", G_TYPE_STRING, {"square=ff0000", "square=00ff00,circle=0000ff"},
                      threads, set_string);
  for (int i = 0; i < 40; ++i) {
    GstBuffer* in = gst_test::make_buffer(f, i * GST_SECOND / 15);
    retinanet::gst::attach_detections(in, {detection(40 + 4.f * i, 100, 40, "square", 0.9f)}, kWidth, kHeight,
                                      i % 2 == 1);
    GstBuffer* tracked = gst_harness_push_and_pull(track.get(), in);
    ASSERT_NE(tracked, nullptr);
    for (const auto& r : retinanet::gst::read_regions(tracked)) EXPECT_TRUE(r.object_id == 1 || r.object_id == -1);
    GstBuffer* drawn = gst_harness_push_and_pull(overlay, tracked);
    ASSERT_NE(drawn, nullptr);
    gst_buffer_unref(drawn);
    g_usleep(1000);  // the stress threads get their turns on a busy machine too
  }
  for (GstHarnessThread* t : threads) EXPECT_GT(gst_harness_stress_thread_stop(t), 0u);
  gst_harness_teardown(overlay);
}
