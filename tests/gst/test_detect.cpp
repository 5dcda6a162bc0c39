// retinanetdetect under GstHarness: metadata on every format equals retinanet-detect's answer on the same image,
// and the properties (thresholds, interval, classes, post-messages) do what they say.
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <opencv2/core.hpp>

#include "gst_test_util.h"

using gst_test::Frame;
using retinanet::gst::Region;

namespace {

const std::pair<int, int> kSizes[] = {{320, 240}, {317, 239}};  // even, and odd (strides padded, odd chroma)

// The text of the first warning or error (`type`) waiting on `bus`, "(none)" when there is none.
std::string pop_message_text(GstBus* bus, GstMessageType type) {
  GstMessage* msg = gst_bus_pop_filtered(bus, type);
  if (!msg) return "(none)";
  GError* error = nullptr;
  if (type == GST_MESSAGE_ERROR)
    gst_message_parse_error(msg, &error, nullptr);
  else
    gst_message_parse_warning(msg, &error, nullptr);
  const std::string text = error->message;
  g_error_free(error);
  gst_message_unref(msg);
  return text;
}

// The tool's answers on every image the detector sees in these tests, computed once.
class DetectTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = gst_test::scratch_dir("detect");
    std::vector<std::string> images;
    for (auto [w, h] : kSizes) {
      const cv::Mat rgb = gst_test::read_rgb(gst_test::frame_path(w, h));
      cv::Mat flipped;
      cv::flip(rgb, flipped, 1);
      // The YUV formats show the detector their own decoding of the image; I420 and NV12 decode alike.
      const cv::Mat yuv_seen = gst_test::make_frame(rgb, GST_VIDEO_FORMAT_I420).seen_rgb;
      for (const auto& [name, image] : {std::pair<std::string, cv::Mat>{"rgb", rgb},
                                        {"flipped", flipped}, {"yuv", yuv_seen}}) {
        const std::string path = dir + "/" + name + "_" + std::to_string(w) + "x" + std::to_string(h) + ".ppm";
        gst_test::write_ppm(path, image);
        images_[key(name, w, h)] = image;
        images.push_back(path);
      }
    }
    const std::vector<nlohmann::json> lines = gst_test::run_detect_tool(images);
    const std::vector<nlohmann::json> strict = gst_test::run_detect_tool(
        images, "--score-threshold 0.3 --nms-threshold 0.4 --max-detections 7");
    size_t i = 0;
    for (auto [w, h] : kSizes)
      for (const char* name : {"rgb", "flipped", "yuv"}) {
        answers_[key(name, w, h)] = lines[i];
        strict_answers_[key(name, w, h)] = strict[i++];
      }
  }

  static std::string key(const std::string& name, int w, int h) {
    return name + std::to_string(w) + "x" + std::to_string(h);
  }
  static const nlohmann::json& answer(const Frame& f, bool strict = false) {
    const bool yuv = f.format == GST_VIDEO_FORMAT_I420 || f.format == GST_VIDEO_FORMAT_NV12;
    return (strict ? strict_answers_ : answers_).at(key(yuv ? "yuv" : "rgb", f.width, f.height));
  }
  static Frame frame(GstVideoFormat format, int w, int h, const char* name = "rgb") {
    return gst_test::make_frame(images_.at(key(name, w, h)), format);
  }
  static GstHarness* harness(const std::string& properties = "") {
    const std::string launch =
        "retinanetdetect name=d mode=sync model=\"" + gst_test::model_path() + "\" " + properties;
    return gst_harness_new_parse(launch.c_str());
  }
  // Pushes one frame (setting caps when they change) and pulls it back with its regions.
  static std::vector<Region> push_pull(GstHarness* h, const Frame& f, GstClockTime pts = 0) {
    gst_harness_set_src_caps_str(h, gst_test::caps_string(f).c_str());
    GstBuffer* out = gst_harness_push_and_pull(h, gst_test::make_buffer(f, pts));
    EXPECT_NE(out, nullptr);
    std::vector<Region> regions = out ? retinanet::gst::read_regions(out) : std::vector<Region>{};
    if (out) gst_buffer_unref(out);
    return regions;
  }

  static std::map<std::string, cv::Mat> images_;
  static std::map<std::string, nlohmann::json> answers_, strict_answers_;
};
std::map<std::string, cv::Mat> DetectTest::images_;
std::map<std::string, nlohmann::json> DetectTest::answers_, DetectTest::strict_answers_;

class DetectFormatTest : public DetectTest, public testing::WithParamInterface<int> {};

// All eight formats through one element (a model load per size, not per format): each frame's metadata equals the
// tool's answer on the image that format shows the detector, and its pixels are left as they were.
TEST_P(DetectFormatTest, MetadataEqualsTheToolsDetections) {
  const auto [w, h] = kSizes[GetParam()];
  GstHarness* harness = DetectTest::harness();
  GstClockTime pts = 0;
  for (GstVideoFormat format : gst_test::all_formats()) {
    SCOPED_TRACE(gst_video_format_to_string(format));
    const Frame f = frame(format, w, h);
    gst_harness_set_src_caps_str(harness, gst_test::caps_string(f).c_str());
    GstBuffer* in = gst_test::make_buffer(f, pts);
    pts += GST_SECOND / 30;
    GstVideoInfo info;
    gst_video_info_set_format(&info, format, w, h);
    const std::vector<cv::Mat> before = gst_test::read_planes(in, info);

    GstBuffer* out = gst_harness_push_and_pull(harness, in);
    ASSERT_NE(out, nullptr);
    const std::vector<Region> regions = retinanet::gst::read_regions(out);
    EXPECT_FALSE(regions.empty()) << "the test model finds objects in the test frame";
    gst_test::expect_regions_match(regions, answer(f), w, h);
    for (const Region& r : regions) EXPECT_FALSE(r.stale);

    const std::vector<cv::Mat> after = gst_test::read_planes(out, info);
    ASSERT_EQ(before.size(), after.size());
    for (size_t p = 0; p < before.size(); ++p)
      EXPECT_EQ(cv::norm(before[p], after[p], cv::NORM_INF), 0) << "plane " << p << " changed";
    gst_buffer_unref(out);
  }
  gst_harness_teardown(harness);
}

INSTANTIATE_TEST_SUITE_P(EvenAndOddSizes, DetectFormatTest, testing::Values(0, 1),
                         [](const testing::TestParamInfo<int>& info) {
                           return std::to_string(kSizes[info.param].first) + "x" +
                                  std::to_string(kSizes[info.param].second);
                         });

TEST_F(DetectTest, MetaFollowsTheContract) {
  GstHarness* h = harness();
  const Frame f = frame(GST_VIDEO_FORMAT_RGB, 320, 240);
  gst_harness_set_src_caps_str(h, gst_test::caps_string(f).c_str());
  GstBuffer* out = gst_harness_push_and_pull(h, gst_test::make_buffer(f));
  ASSERT_NE(out, nullptr);
  const nlohmann::json& expected = answer(f).at("detections");
  gpointer state = nullptr;
  GstMeta* meta;
  std::vector<GstVideoRegionOfInterestMeta*> metas;
  while ((meta = gst_buffer_iterate_meta_filtered(out, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
    metas.push_back(reinterpret_cast<GstVideoRegionOfInterestMeta*>(meta));
  ASSERT_EQ(metas.size(), expected.size());
  for (GstVideoRegionOfInterestMeta* roi : metas) {
    ASSERT_GE(roi->id, 0);
    ASSERT_LT(roi->id, static_cast<gint>(expected.size()));
    const nlohmann::json& e = expected[roi->id];  // id: the detection's rank
    EXPECT_EQ(roi->roi_type, g_quark_from_string(e.at("name").get<std::string>().c_str()));
    const GstStructure* s = gst_video_region_of_interest_meta_get_param(roi, "detection");
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(gst_structure_has_field_typed(s, "label_id", G_TYPE_INT));
    EXPECT_TRUE(gst_structure_has_field_typed(s, "label", G_TYPE_STRING));
    EXPECT_TRUE(gst_structure_has_field_typed(s, "confidence", G_TYPE_DOUBLE));
    for (const char* field : {"x_min", "y_min", "x_max", "y_max"}) {
      double v = -1;
      EXPECT_TRUE(gst_structure_get_double(s, field, &v)) << field;
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
    }
    EXPECT_TRUE(gst_structure_has_field_typed(s, "stale", G_TYPE_BOOLEAN));
  }
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}

TEST_F(DetectTest, ThresholdPropertiesEqualTheToolsOptions) {
  GstHarness* h = harness("score-threshold=0.3 nms-threshold=0.4 max-detections=7");
  for (GstVideoFormat format : {GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_NV12}) {
    const Frame f = frame(format, 317, 239);
    const std::vector<Region> regions = push_pull(h, f);
    EXPECT_LE(regions.size(), 7u);
    gst_test::expect_regions_match(regions, answer(f, true), f.width, f.height);
  }
  gst_harness_teardown(h);
}

TEST_F(DetectTest, ThresholdsChangeWhilePlaying) {
  GstHarness* h = harness();
  GstElement* d = gst_bin_get_by_name(GST_BIN(h->element), "d");
  const Frame f = frame(GST_VIDEO_FORMAT_I420, 317, 239);
  ASSERT_NE(answer(f)["detections"].size(), answer(f, true)["detections"].size())
      << "the stricter settings must change the answer to be tested";
  gst_test::expect_regions_match(push_pull(h, f, 0), answer(f), f.width, f.height);
  // Set mid-stream: the very next frame is post-processed with them, as retinanet-detect with the same options.
  g_object_set(d, "score-threshold", 0.3f, "nms-threshold", 0.4f, "max-detections", 7, NULL);
  gst_test::expect_regions_match(push_pull(h, f, GST_SECOND / 30), answer(f, true), f.width, f.height);
  // Back to the model file's settings.
  g_object_set(d, "score-threshold", -1.0f, "nms-threshold", -1.0f, "max-detections", 0, NULL);
  gst_test::expect_regions_match(push_pull(h, f, 2 * GST_SECOND / 30), answer(f), f.width, f.height);
  gst_object_unref(d);
  gst_harness_teardown(h);
}

// A frame that another branch also holds (what a tee does) goes on with the same memory: the element maps it for
// reading and adds its metadata to a new GstBuffer; the other branch's buffer keeps no metadata.
TEST_F(DetectTest, SharedFrameIsNotCopied) {
  GstHarness* h = harness();
  const Frame f = frame(GST_VIDEO_FORMAT_NV12, 320, 240);
  gst_harness_set_src_caps_str(h, gst_test::caps_string(f).c_str());
  GstBuffer* in = gst_test::make_buffer(f);
  GstMemory* memory = gst_buffer_peek_memory(in, 0);
  gst_buffer_ref(in);  // the other branch's reference
  GstBuffer* out = gst_harness_push_and_pull(h, in);
  ASSERT_NE(out, nullptr);
  EXPECT_NE(out, in) << "a shared buffer must not get metadata in place";
  ASSERT_EQ(gst_buffer_n_memory(out), 1u);
  EXPECT_EQ(gst_buffer_peek_memory(out, 0), memory) << "the frame's memory was copied";
  gst_test::expect_regions_match(retinanet::gst::read_regions(out), answer(f), f.width, f.height);
  EXPECT_TRUE(retinanet::gst::read_regions(in).empty());
  gst_buffer_unref(out);
  gst_buffer_unref(in);
  gst_harness_teardown(h);
}

// An empty GAP buffer (no picture, e.g. from a live source that lost a frame) passes untouched, without a warning
// or an error, and the next frame is detected as usual.
TEST_F(DetectTest, EmptyGapBufferPassesThrough) {
  GstHarness* h = harness();
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  const Frame f = frame(GST_VIDEO_FORMAT_RGB, 320, 240);
  gst_harness_set_src_caps_str(h, gst_test::caps_string(f).c_str());
  GstBuffer* gap = gst_buffer_new();
  GST_BUFFER_FLAG_SET(gap, GST_BUFFER_FLAG_GAP);
  GST_BUFFER_PTS(gap) = 0;
  GstBuffer* out = gst_harness_push_and_pull(h, gap);
  ASSERT_NE(out, nullptr);
  EXPECT_TRUE(GST_BUFFER_FLAG_IS_SET(out, GST_BUFFER_FLAG_GAP));
  EXPECT_TRUE(retinanet::gst::read_regions(out).empty());
  gst_buffer_unref(out);
  GstMessage* complaint =
      gst_bus_pop_filtered(bus, static_cast<GstMessageType>(GST_MESSAGE_WARNING | GST_MESSAGE_ERROR));
  EXPECT_EQ(complaint, nullptr);
  if (complaint) gst_message_unref(complaint);
  gst_test::expect_regions_match(push_pull(h, f, GST_SECOND / 30), answer(f), f.width, f.height);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}

// A buffer too small for its caps (empty, or cut short) without the GAP flag: a warning that says so, the buffer
// goes on, marked as not analysed, and retinanetjson's line says "analysed": false with the reason rather than a
// frame without objects; the next whole frame is analysed as usual.
TEST_F(DetectTest, ShortBufferIsReportedAndMarkedNotAnalysed) {
  const std::string path = gst_test::scratch_dir("short") + "/short.jsonl";
  const std::string launch = "retinanetdetect mode=sync model=\"" + gst_test::model_path() +
                             "\" ! retinanetjson location=\"" + path + "\"";
  GstHarness* h = gst_harness_new_parse(launch.c_str());
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  const Frame f = frame(GST_VIDEO_FORMAT_RGB, 320, 240);
  gst_harness_set_src_caps_str(h, gst_test::caps_string(f).c_str());
  for (const gsize size : {gsize{0}, gsize{1000}}) {
    GstBuffer* cut = gst_buffer_new_allocate(nullptr, size, nullptr);
    GST_BUFFER_PTS(cut) = size * GST_MSECOND;
    GstBuffer* out = gst_harness_push_and_pull(h, cut);
    ASSERT_NE(out, nullptr) << "the buffer is not lost";
    EXPECT_EQ(gst_buffer_get_size(out), size);
    std::string reason;
    EXPECT_FALSE(retinanet::gst::was_analysed(out, &reason));
    EXPECT_NE(reason.find(std::to_string(size) + "-byte buffer is too small for a 320x240 RGB frame"),
              std::string::npos) << reason;
    gst_buffer_unref(out);
    GstMessage* warning = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
    ASSERT_NE(warning, nullptr);
    GError* error = nullptr;
    gst_message_parse_warning(warning, &error, nullptr);
    EXPECT_NE(std::string(error->message).find("Frame not analysed"), std::string::npos) << error->message;
    EXPECT_EQ(std::string(error->message).find("not implemented"), std::string::npos) << error->message;
    g_clear_error(&error);
    gst_message_unref(warning);
  }
  GstBuffer* out = gst_harness_push_and_pull(h, gst_test::make_buffer(f, GST_SECOND));
  ASSERT_NE(out, nullptr);
  EXPECT_TRUE(retinanet::gst::was_analysed(out));
  gst_test::expect_regions_match(retinanet::gst::read_regions(out), answer(f), f.width, f.height);
  gst_buffer_unref(out);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
  const std::vector<nlohmann::json> lines = gst_test::read_json_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(lines[i]["analysed"], false);
    EXPECT_TRUE(lines[i]["detections"].empty());
    EXPECT_NE(lines[i]["reason"].get<std::string>().find("too small"), std::string::npos);
  }
  EXPECT_FALSE(lines[2].contains("analysed"));
  EXPECT_FALSE(lines[2]["detections"].empty());
}

TEST_F(DetectTest, CapsRenegotiateMidStream) {
  GstHarness* h = harness();
  const std::tuple<GstVideoFormat, int, int> steps[] = {{GST_VIDEO_FORMAT_RGB, 320, 240},
                                                        {GST_VIDEO_FORMAT_I420, 317, 239},
                                                        {GST_VIDEO_FORMAT_NV12, 320, 240},
                                                        {GST_VIDEO_FORMAT_BGRA, 317, 239}};
  GstClockTime pts = 0;
  for (const auto& [format, w, hgt] : steps) {
    SCOPED_TRACE(gst_video_format_to_string(format));
    const Frame f = frame(format, w, hgt);
    gst_test::expect_regions_match(push_pull(h, f, pts), answer(f), w, hgt);
    pts += GST_SECOND / 30;
  }
  gst_harness_teardown(h);
}

TEST_F(DetectTest, IntervalCarriesTheLastDetectionsMarkedStale) {
  GstHarness* h = harness("interval=3");
  const Frame a = frame(GST_VIDEO_FORMAT_RGB, 320, 240), b = frame(GST_VIDEO_FORMAT_RGB, 320, 240, "flipped");
  const nlohmann::json& on_a = answers_.at(key("rgb", 320, 240));
  const nlohmann::json& on_b = answers_.at(key("flipped", 320, 240));
  // Frame 0 is inferred on a; frames 1 and 2 (b) carry a's detections; frame 3 (b) is inferred again.
  const Frame* frames[] = {&a, &b, &b, &b};
  const bool stale[] = {false, true, true, false};
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    const std::vector<Region> regions = push_pull(h, *frames[i], i * GST_SECOND / 30);
    gst_test::expect_regions_match(regions, stale[i] || i == 0 ? on_a : on_b, 320, 240);
    for (const Region& r : regions) EXPECT_EQ(r.stale, stale[i]);
  }
  // A new frame size forces inference at once: carried boxes would be in the old frame's pixels.
  const Frame odd = frame(GST_VIDEO_FORMAT_RGB, 317, 239);
  const std::vector<Region> regions = push_pull(h, odd, 4 * GST_SECOND / 30);
  gst_test::expect_regions_match(regions, answer(odd), 317, 239);
  for (const Region& r : regions) EXPECT_FALSE(r.stale);
  gst_harness_teardown(h);
}

TEST_F(DetectTest, FlushStartsInferenceAfresh) {
  GstHarness* h = harness("interval=100");
  const Frame a = frame(GST_VIDEO_FORMAT_RGB, 320, 240), b = frame(GST_VIDEO_FORMAT_RGB, 320, 240, "flipped");
  push_pull(h, a);
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_flush_start()));
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_segment(&segment)));
  const std::vector<Region> regions = push_pull(h, b);
  gst_test::expect_regions_match(regions, answers_.at(key("flipped", 320, 240)), 320, 240);
  for (const Region& r : regions) EXPECT_FALSE(r.stale);
  gst_harness_teardown(h);
}

TEST_F(DetectTest, EosPassesThrough) {
  GstHarness* h = harness();
  push_pull(h, frame(GST_VIDEO_FORMAT_I420, 320, 240));
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));
  bool eos = false;
  while (GstEvent* event = gst_harness_try_pull_event(h)) {
    eos = eos || GST_EVENT_TYPE(event) == GST_EVENT_EOS;
    gst_event_unref(event);
  }
  EXPECT_TRUE(eos);
  gst_harness_teardown(h);
}

TEST_F(DetectTest, ClassesFilterByNameOrNumber) {
  GstHarness* h = harness("classes=\"square, 1\"");
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  const Frame f = frame(GST_VIDEO_FORMAT_RGB, 320, 240);
  nlohmann::json expected = answer(f);
  const size_t unfiltered = expected["detections"].size();
  nlohmann::json kept = nlohmann::json::array();
  for (const nlohmann::json& d : expected["detections"])
    if (d["name"] == "square" || d["label"] == 1) kept.push_back(d);
  expected["detections"] = kept;
  ASSERT_FALSE(kept.empty());
  ASSERT_LT(kept.size(), unfiltered) << "the filter must drop something to be tested";
  gst_test::expect_regions_match(push_pull(h, f), expected, 320, 240);

  // Changed while playing, it applies from the next frame; an unknown name is warned about.
  GstElement* d = gst_bin_get_by_name(GST_BIN(h->element), "d");
  g_object_set(d, "classes", "no-such-class", NULL);
  EXPECT_TRUE(push_pull(h, f, GST_SECOND).empty());
  const std::string warning = pop_message_text(bus, GST_MESSAGE_WARNING);
  EXPECT_NE(warning.find("no-such-class"), std::string::npos) << warning;
  gst_object_unref(d);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}

// max-detections counts the detections the class filter keeps: the detector is not capped before the filter drops
// classes (which gave fewer, e.g. classes=circle,triangle max-detections=5 returning 3). The answer is the first
// max-detections wanted ones of the model's usual list, the tool's.
TEST_F(DetectTest, MaxDetectionsCountsAfterTheClassFilter) {
  const Frame f = frame(GST_VIDEO_FORMAT_RGB, 320, 240);
  const nlohmann::json& all = answer(f).at("detections");
  ASSERT_FALSE(all.empty());
  // Every class but the most confident detection's: the overall first ones then hold an unwanted detection.
  const int dropped = all[0].at("label");
  nlohmann::json wanted = nlohmann::json::array();
  std::set<std::string> names;
  for (const nlohmann::json& d : all)
    if (d.at("label") != dropped) {
      wanted.push_back(d);
      names.insert(d.at("name").get<std::string>());
    }
  ASSERT_GE(wanted.size(), 2u) << "the test frame must show at least two detections of the other classes";
  const size_t max = std::min<size_t>(wanted.size(), 5);
  std::string classes;
  for (const std::string& name : names) classes += (classes.empty() ? "" : ",") + name;

  GstHarness* h = harness("classes=\"" + classes + "\" max-detections=" + std::to_string(max));
  nlohmann::json expected = answer(f);
  expected["detections"] = nlohmann::json(wanted.begin(), wanted.begin() + max);
  const std::vector<Region> regions = push_pull(h, f);
  EXPECT_EQ(regions.size(), max);
  gst_test::expect_regions_match(regions, expected, f.width, f.height);

  // Changed while playing, on the next frame: one fewer, still counted after the filter.
  GstElement* d = gst_bin_get_by_name(GST_BIN(h->element), "d");
  g_object_set(d, "max-detections", static_cast<gint>(max - 1), NULL);
  expected["detections"] = nlohmann::json(wanted.begin(), wanted.begin() + (max - 1));
  gst_test::expect_regions_match(push_pull(h, f, GST_SECOND / 30), expected, f.width, f.height);
  // The filter off again: the detector's own cap, the overall first ones.
  g_object_set(d, "classes", "", NULL);
  expected["detections"] = nlohmann::json(all.begin(), all.begin() + std::min(all.size(), max - 1));
  gst_test::expect_regions_match(push_pull(h, f, 2 * GST_SECOND / 30), expected, f.width, f.height);
  gst_object_unref(d);
  gst_harness_teardown(h);
}

TEST_F(DetectTest, PostMessagesCarryTheDetections) {
  GstHarness* h = harness("post-messages=true interval=2");
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  const Frame f = frame(GST_VIDEO_FORMAT_NV12, 317, 239);
  for (int i = 0; i < 2; ++i) {
    const std::vector<Region> regions = push_pull(h, f, i * GST_SECOND);
    GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
    ASSERT_NE(msg, nullptr);
    const GstStructure* s = gst_message_get_structure(msg);
    EXPECT_TRUE(gst_structure_has_name(s, "retinanet-detections"));
    guint64 number = 99, timestamp = 0;
    gint width = 0, height = 0;
    gboolean stale = TRUE;
    EXPECT_TRUE(gst_structure_get_uint64(s, "frame", &number));
    EXPECT_TRUE(gst_structure_get_uint64(s, "timestamp", &timestamp));
    EXPECT_TRUE(gst_structure_get_int(s, "width", &width) && gst_structure_get_int(s, "height", &height));
    EXPECT_TRUE(gst_structure_get_boolean(s, "stale", &stale));
    EXPECT_EQ(number, static_cast<guint64>(i));
    EXPECT_EQ(timestamp, i * GST_SECOND);
    EXPECT_EQ(width, 317);
    EXPECT_EQ(height, 239);
    EXPECT_EQ(stale, i == 1);
    const GValue* list = gst_structure_get_value(s, "detections");
    ASSERT_TRUE(list && GST_VALUE_HOLDS_ARRAY(list));
    ASSERT_EQ(gst_value_array_get_size(list), regions.size());
    for (guint k = 0; k < regions.size(); ++k) {
      const GstStructure* d = gst_value_get_structure(gst_value_array_get_value(list, k));
      double confidence = 0;
      EXPECT_STREQ(gst_structure_get_string(d, "label"), regions[k].label.c_str());
      EXPECT_TRUE(gst_structure_get_double(d, "confidence", &confidence));
      EXPECT_DOUBLE_EQ(confidence, regions[k].confidence);
    }
    gst_message_unref(msg);
  }
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}

// Per-class thresholds and class-agnostic NMS as retinanet-detect's --class-thresholds and --agnostic-nms on the
// same image (the core tests check those against a reference); changed while playing, from the next frame.
TEST_F(DetectTest, ClassThresholdsAndAgnosticNmsEqualTheTool) {
  const Frame f = frame(GST_VIDEO_FORMAT_RGB, 320, 240);
  const std::string path = gst_test::scratch_dir("class-settings") + "/rgb_320x240.ppm";
  gst_test::write_ppm(path, images_.at(key("rgb", 320, 240)));
  const nlohmann::json per_class = gst_test::run_detect_tool({path}, "--class-thresholds square=0.5,1=0.3")[0];
  const nlohmann::json agnostic =
      gst_test::run_detect_tool({path}, "--class-thresholds square=0.5,1=0.3 --agnostic-nms")[0];
  ASSERT_NE(per_class["detections"], answer(f)["detections"]) << "the thresholds must change the answer";
  ASSERT_NE(agnostic["detections"], per_class["detections"]) << "agnostic NMS must change the answer";
  for (const nlohmann::json& d : per_class["detections"]) {
    const double floor = d["name"] == "square" ? 0.5 : d["label"] == 1 ? 0.3 : 0.05;
    EXPECT_GT(d["score"].get<double>(), floor) << d;
  }

  GstHarness* h = harness("class-thresholds=\"square=0.5,1=0.3\"");
  gst_test::expect_regions_match(push_pull(h, f), per_class, f.width, f.height);
  GstElement* d = gst_bin_get_by_name(GST_BIN(h->element), "d");
  g_object_set(d, "agnostic-nms", TRUE, NULL);
  gst_test::expect_regions_match(push_pull(h, f, GST_SECOND / 30), agnostic, f.width, f.height);
  g_object_set(d, "agnostic-nms", FALSE, "class-thresholds", "", NULL);
  gst_test::expect_regions_match(push_pull(h, f, 2 * GST_SECOND / 30), answer(f), f.width, f.height);

  // A label the model lacks, set while playing: warned about (naming it), the previous thresholds stay.
  g_object_set(d, "class-thresholds", "square=0.5,1=0.3", NULL);
  gst_test::expect_regions_match(push_pull(h, f, 3 * GST_SECOND / 30), per_class, f.width, f.height);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  g_object_set(d, "class-thresholds", "hexagon=0.2", NULL);
  gst_test::expect_regions_match(push_pull(h, f, 4 * GST_SECOND / 30), per_class, f.width, f.height);
  const std::string warning = pop_message_text(bus, GST_MESSAGE_WARNING);
  EXPECT_NE(warning.find("'hexagon' is not a label"), std::string::npos) << warning;
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_object_unref(d);
  gst_harness_teardown(h);
}

std::vector<std::string> strv_property(GstElement* element, const char* name) {
  gchar** values = nullptr;
  g_object_get(element, name, &values, NULL);
  std::vector<std::string> out;
  for (gchar** v = values; v && *v; ++v) out.push_back(*v);
  g_strfreev(values);
  return out;
}

// labels lists the loaded model's names; a labels file renames them in the metadata (roi_type and label, as the
// tool's --labels-file does in its JSON), in labels, and for class-thresholds.
TEST_F(DetectTest, LabelsFileRenamesTheLabels) {
  const std::string dir = gst_test::scratch_dir("labels-file");
  const std::string labels = dir + "/labels.txt", path = dir + "/rgb_320x240.ppm";
  std::ofstream(labels) << "background\nball\nbox\nwedge\n";
  gst_test::write_ppm(path, images_.at(key("rgb", 320, 240)));
  const nlohmann::json expected =
      gst_test::run_detect_tool({path}, "--labels-file " + labels + " --class-thresholds box=0.5")[0];
  std::set<std::string> names;
  for (const nlohmann::json& d : expected["detections"]) names.insert(d["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"background", "ball", "box", "wedge"}));

  GstHarness* plain = harness();
  GstElement* d = gst_bin_get_by_name(GST_BIN(plain->element), "d");
  const Frame f = frame(GST_VIDEO_FORMAT_RGB, 320, 240);
  push_pull(plain, f);
  EXPECT_EQ(strv_property(d, "labels"), (std::vector<std::string>{"0", "circle", "square", "triangle"}));
  gst_object_unref(d);
  gst_harness_teardown(plain);

  GstHarness* h = harness("labels-file=\"" + labels + "\" class-thresholds=\"box=0.5\"");
  const std::vector<Region> regions = push_pull(h, f);
  gst_test::expect_regions_match(regions, expected, f.width, f.height);
  GstBuffer* out = gst_harness_push_and_pull(h, gst_test::make_buffer(f, GST_SECOND));
  gpointer state = nullptr;
  GstMeta* meta = gst_buffer_iterate_meta_filtered(out, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE);
  ASSERT_NE(meta, nullptr);
  EXPECT_STREQ(g_quark_to_string(reinterpret_cast<GstVideoRegionOfInterestMeta*>(meta)->roi_type),
               expected["detections"][0]["name"].get<std::string>().c_str());
  gst_buffer_unref(out);
  d = gst_bin_get_by_name(GST_BIN(h->element), "d");
  EXPECT_EQ(strv_property(d, "labels"), (std::vector<std::string>{"background", "ball", "box", "wedge"}));
  gst_object_unref(d);
  gst_harness_teardown(h);
}

// The error a standalone element posts when it cannot start with `properties` (gst_util_set_object_arg syntax).
std::string start_error(const std::vector<std::pair<const char*, std::string>>& properties) {
  GstElement* d = gst_element_factory_make("retinanetdetect", nullptr);
  g_object_set(d, "model", gst_test::model_path().c_str(), NULL);
  for (const auto& [name, value] : properties) gst_util_set_object_arg(G_OBJECT(d), name, value.c_str());
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(d, bus);
  EXPECT_EQ(gst_element_set_state(d, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  const std::string message = pop_message_text(bus, GST_MESSAGE_ERROR);
  gst_element_set_state(d, GST_STATE_NULL);
  gst_element_set_bus(d, nullptr);
  gst_object_unref(bus);
  gst_object_unref(d);
  return message;
}

TEST_F(DetectTest, BadClassSettingsFailTheStart) {
  const std::string labels = gst_test::scratch_dir("labels-file-short") + "/labels.txt";
  std::ofstream(labels) << "ball\nbox\n";
  EXPECT_NE(start_error({{"labels-file", labels}}).find("has 2 lines, the model 4 labels"), std::string::npos);
  const std::string unknown = start_error({{"class-thresholds", "square=0.4,hexagon=0.3"}});
  EXPECT_NE(unknown.find("'hexagon' is not a label"), std::string::npos) << unknown;
}

}  // namespace
