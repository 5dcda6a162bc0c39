// retinanetoverlay with a tracker upstream: the object id in the caption (and show-ids=false), predicted and stale
// boxes dashed and thinner than fresh ones, captions of neighbouring boxes that do not overlap, colours per class
// (class-colors), and trails along the objects' paths.
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>

#include <functional>
#include <opencv2/core.hpp>

#include "gst/detection_meta.h"
#include "gst/roi_painter.h"
#include "gst_test_util.h"

namespace {

constexpr int kWidth = 320, kHeight = 240;

retinanet::Detection detection(int x, int y, int w, int h, const char* name, float score) {
  retinanet::Detection d;
  d.label = 2;
  d.name = name;
  d.score = score;
  d.x1 = static_cast<float>(x);
  d.y1 = static_cast<float>(y);
  d.x2 = static_cast<float>(x + w);
  d.y2 = static_cast<float>(y + h);
  return d;
}

// Attaches `d` as retinanetdetect does, with a tracker's object_id param (id < 0: none).
void attach(GstBuffer* buffer, const retinanet::Detection& d, int id, bool predicted, bool stale = false) {
  retinanet::gst::attach_detections(buffer, {d}, kWidth, kHeight, stale || predicted);
  if (id < 0) return;
  auto metas = retinanet::gst::region_metas(buffer);
  retinanet::gst::set_object_id(metas.back(), id, predicted);
}

// RGB frames of flat grey through `overlay` (one harness for all, so trails build up); the frames after it.
std::vector<cv::Mat> draw(const std::string& properties, const std::vector<std::function<void(GstBuffer*)>>& frames) {
  const cv::Mat grey(kHeight, kWidth, CV_8UC3, cv::Scalar(90, 100, 110));
  const gst_test::Frame f = gst_test::make_frame(grey, GST_VIDEO_FORMAT_RGB);
  GstHarness* h = gst_harness_new_parse(("retinanetoverlay " + properties).c_str());
  gst_harness_set_src_caps_str(h, gst_test::caps_string(f).c_str());
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGB, kWidth, kHeight);
  std::vector<cv::Mat> out;
  for (const auto& attach_metas : frames) {
    GstBuffer* in = gst_test::make_buffer(f);
    attach_metas(in);
    GstBuffer* result = gst_harness_push_and_pull(h, in);
    out.push_back(gst_test::read_planes(result, info)[0].reshape(3, kHeight).clone());
    gst_buffer_unref(result);
  }
  gst_harness_teardown(h);
  return out;
}

bool drawn(const cv::Mat& rgb, int x, int y) { return rgb.at<cv::Vec3b>(y, x) != cv::Vec3b(90, 100, 110); }

TEST(OverlayTracks, CaptionShowsTheIdUnlessTurnedOff) {
  retinanet::gst::Region region;
  region.label = "square";
  region.confidence = 0.876;
  region.object_id = 7;
  retinanet::gst::PaintStyle style;
  EXPECT_EQ(retinanet::gst::region_caption(region, style), "#7 square 0.88");
  style.show_ids = false;
  EXPECT_EQ(retinanet::gst::region_caption(region, style), "square 0.88");
  style.show_ids = true;
  style.show_labels = style.show_confidence = false;
  EXPECT_EQ(retinanet::gst::region_caption(region, style), "#7");
  region.object_id = -1;
  EXPECT_EQ(retinanet::gst::region_caption(region, style), "");
  // Drawn: the banner with the id is wider than the one without.
  const auto frames = draw("show-labels=false show-confidence=false", {[](GstBuffer* b) {
    attach(b, detection(100, 100, 80, 60, "square", 0.9f), 12345, false);
  }});
  EXPECT_TRUE(drawn(frames[0], 102, 95));  // the banner above the box
}

TEST(OverlayTracks, PredictedAndStaleBoxesAreDashedAndThinner) {
  const retinanet::Detection fresh = detection(20, 40, 100, 80, "square", 0.9f);
  const retinanet::Detection predicted = detection(180, 40, 100, 80, "square", 0.9f);
  const retinanet::Detection stale = detection(100, 150, 100, 80, "square", 0.9f);
  const auto frames = draw("thickness=4 show-labels=false show-confidence=false", {[&](GstBuffer* b) {
    attach(b, fresh, 1, false);
    attach(b, predicted, 2, true);
    attach(b, stale, -1, false, true);
  }});
  const cv::Mat& rgb = frames[0];
  // Along the left edge of each box, pixel by pixel: the fresh one solid and 4 wide, the others broken, 2 wide.
  for (const auto* d : {&fresh, &predicted, &stale}) {
    const int x = static_cast<int>(d->x1), y1 = static_cast<int>(d->y1) + 10, y2 = static_cast<int>(d->y2) - 10;
    int on = 0;
    for (int y = y1; y < y2; ++y) on += drawn(rgb, x, y);
    const bool solid = d == &fresh;
    SCOPED_TRACE(solid ? "fresh" : "faded");
    if (solid) {
      EXPECT_EQ(on, y2 - y1);
    } else {
      EXPECT_GT(on, (y2 - y1) / 4);
      EXPECT_LT(on, 3 * (y2 - y1) / 4);
    }
    EXPECT_EQ(drawn(rgb, x + 3, (y1 + y2) / 2) || drawn(rgb, x + 3, (y1 + y2) / 2 + 1), solid) << "width";
  }
}

TEST(OverlayTracks, NeighbouringCaptionsDoNotOverlap) {
  // Three boxes side by side at the same height, 20 pixels apart: their preferred banners would overlap.
  std::vector<retinanet::gst::Region> regions;
  for (int i = 0; i < 3; ++i) {
    retinanet::gst::Region r;
    r.label = "circle";
    r.confidence = 0.8 - 0.1 * i;
    r.x = 60 + 20 * i;
    r.y = 80;
    r.w = r.h = 60;
    regions.push_back(r);
  }
  retinanet::gst::PaintStyle style;
  const std::vector<cv::Rect> layout = retinanet::gst::caption_layout(regions, style, kWidth, kHeight);
  ASSERT_EQ(layout.size(), 3u);
  EXPECT_EQ(layout[0], retinanet::gst::caption_rect(regions[0], style, kWidth, kHeight));  // the first keeps its place
  for (size_t i = 0; i < layout.size(); ++i) {
    EXPECT_FALSE(layout[i].empty());
    EXPECT_EQ(layout[i] & cv::Rect(0, 0, kWidth, kHeight), layout[i]);
    for (size_t j = 0; j < i; ++j) EXPECT_TRUE((layout[i] & layout[j]).empty()) << i << " over " << j;
  }
}

TEST(OverlayTracks, ClassColoursAreSetPerClass) {
  retinanet::gst::ClassColours colours;
  std::string error;
  ASSERT_TRUE(retinanet::gst::parse_class_colours("circle=ff0000, square=#00c000 ,3=0x2040ff", colours, error));
  EXPECT_EQ(colours["circle"], (retinanet::gst::Rgb{255, 0, 0}));
  EXPECT_EQ(colours["square"], (retinanet::gst::Rgb{0, 192, 0}));
  EXPECT_EQ(colours["3"], (retinanet::gst::Rgb{32, 64, 255}));
  EXPECT_FALSE(retinanet::gst::parse_class_colours("circle=red", colours, error));
  EXPECT_NE(error.find("circle=red"), std::string::npos);
  EXPECT_EQ(colours.size(), 3u);  // unchanged by the refused text

  const auto frames = draw("class-colors=square=102030,3=405060 show-labels=false show-confidence=false",
                           {[](GstBuffer* b) {
                             attach(b, detection(20, 40, 60, 60, "square", 0.9f), -1, false);
                             retinanet::Detection by_id = detection(150, 40, 60, 60, "triangle", 0.9f);
                             by_id.label = 3;
                             attach(b, by_id, -1, false);
                             attach(b, detection(20, 150, 60, 60, "circle", 0.9f), -1, false);
                           }});
  EXPECT_EQ(frames[0].at<cv::Vec3b>(70, 20), cv::Vec3b(0x10, 0x20, 0x30));
  EXPECT_EQ(frames[0].at<cv::Vec3b>(70, 150), cv::Vec3b(0x40, 0x50, 0x60));
  const retinanet::gst::Rgb circle = retinanet::gst::class_colour("circle");
  EXPECT_EQ(frames[0].at<cv::Vec3b>(180, 20), cv::Vec3b(circle[0], circle[1], circle[2]));

  // A malformed value is refused and the property keeps its value.
  GstElement* overlay = gst_element_factory_make("retinanetoverlay", nullptr);
  g_object_set(overlay, "class-colors", "circle=00ff00", nullptr);
  g_object_set(overlay, "class-colors", "circle=", nullptr);
  gchar* value = nullptr;
  g_object_get(overlay, "class-colors", &value, nullptr);
  EXPECT_STREQ(value, "circle=00ff00");
  g_free(value);
  gst_object_unref(overlay);
}

TEST(OverlayTracks, TrailFollowsTheObject) {
  std::vector<std::function<void(GstBuffer*)>> frames;
  for (int f = 0; f < 8; ++f)
    frames.push_back([f](GstBuffer* b) { attach(b, detection(20 + 15 * f, 100, 40, 40, "circle", 0.9f), 1, false); });
  const auto with = draw("trail-length=8 show-labels=false show-confidence=false", frames);
  const auto without = draw("show-labels=false show-confidence=false", frames);
  // On the last frame the path of the box centres (y = 120) runs from x = 40 to 145, mostly outside the last box.
  int trail = 0, none = 0;
  for (int x = 42; x < 120; ++x) {
    trail += drawn(with.back(), x, 120);
    none += drawn(without.back(), x, 120);
  }
  EXPECT_GT(trail, 70);
  EXPECT_EQ(none, 0);
}

}  // namespace
