// retinanetoverlay: on every format, pixels change on the boxes and their caption banners (above the boxes) and
// nowhere else; metas without a `detection` param (other producers', or scaled ones) are drawn too; one colour per
// class.
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>

#include <iterator>
#include <opencv2/core.hpp>

#include "gst/roi_painter.h"
#include "gst_test_util.h"

namespace {

constexpr int kWidth = 320, kHeight = 240;

struct Box {
  int x, y, w, h;
};

// Ours (with a `detection` param), a foreign one (label only), another of the first class (narrower than its
// caption), one hanging over the frame's corner (foreign producers may not clip; its caption moves left to stay in
// the frame), and one on the frame's top edge (no room above: its caption goes inside).
const Box kOurs{21, 31, 130, 90}, kForeign{181, 61, 100, 150}, kSameClass{30, 150, 60, 60}, kOver{290, 200, 60, 80},
    kTop{240, 0, 40, 30};
const Box kBoxes[] = {kOurs, kSameClass, kForeign, kOver, kTop};  // in the order attach_metas adds them

void attach_metas(GstBuffer* buffer) {
  retinanet::Detection d;
  d.label = 2;
  d.name = "square";
  d.score = 0.87f;
  d.x1 = kOurs.x + 0.4f;
  d.y1 = kOurs.y + 0.2f;
  d.x2 = kOurs.x + kOurs.w - 0.5f;
  d.y2 = kOurs.y + kOurs.h - 0.3f;
  retinanet::Detection same = d;
  same.x1 = kSameClass.x, same.y1 = kSameClass.y, same.x2 = kSameClass.x + kSameClass.w;
  same.y2 = kSameClass.y + kSameClass.h;
  retinanet::gst::attach_detections(buffer, {d, same}, kWidth, kHeight, false);
  gst_buffer_add_video_region_of_interest_meta(buffer, "person", kForeign.x, kForeign.y, kForeign.w, kForeign.h);
  gst_buffer_add_video_region_of_interest_meta(buffer, "car", kOver.x, kOver.y, kOver.w, kOver.h);
  gst_buffer_add_video_region_of_interest_meta(buffer, "car", kTop.x, kTop.y, kTop.w, kTop.h);
}

// The caption banner of each box of kBoxes, in order, under `style`.
std::vector<cv::Rect> caption_rects(const retinanet::gst::PaintStyle& style) {
  GstBuffer* buffer = gst_buffer_new();
  attach_metas(buffer);
  std::vector<cv::Rect> rects;
  for (const retinanet::gst::Region& r : retinanet::gst::read_regions(buffer))
    rects.push_back(retinanet::gst::caption_rect(r, style, kWidth, kHeight));
  gst_buffer_unref(buffer);
  return rects;
}

bool inside(int x, int y, const Box& b) { return x >= b.x && y >= b.y && x < b.x + b.w && y < b.y + b.h; }
// Inside a box or a caption banner.
bool inside_any(int x, int y, const std::vector<cv::Rect>& captions) {
  for (const Box& b : kBoxes)
    if (inside(x, y, b)) return true;
  for (const cv::Rect& c : captions)
    if (c.contains(cv::Point(x, y))) return true;
  return false;
}

// Runs one frame of flat grey through an overlay with `properties`, with the metas above; planes before and after.
std::pair<std::vector<cv::Mat>, std::vector<cv::Mat>> overlay(GstVideoFormat format, const std::string& properties,
                                                              bool with_metas = true) {
  const cv::Mat grey(kHeight, kWidth, CV_8UC3, cv::Scalar(90, 100, 110));
  const gst_test::Frame f = gst_test::make_frame(grey, format);
  GstHarness* h = gst_harness_new_parse(("retinanetoverlay " + properties).c_str());
  gst_harness_set_src_caps_str(h, gst_test::caps_string(f).c_str());
  GstBuffer* in = gst_test::make_buffer(f);
  if (with_metas) attach_metas(in);
  GstVideoInfo info;
  gst_video_info_set_format(&info, format, kWidth, kHeight);
  std::vector<cv::Mat> before = gst_test::read_planes(in, info);
  GstBuffer* out = gst_harness_push_and_pull(h, in);
  std::vector<cv::Mat> after = gst_test::read_planes(out, info);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
  return {before, after};
}

// Whether any byte of pixel (x, y) changed in a plane whose pixels are `bytes` wide and subsampled by `sub`.
bool changed(const cv::Mat& before, const cv::Mat& after, int x, int y, int bytes = 1) {
  for (int k = 0; k < bytes; ++k)
    if (before.at<uint8_t>(y, x * bytes + k) != after.at<uint8_t>(y, x * bytes + k)) return true;
  return false;
}

class OverlayFormatTest : public testing::TestWithParam<GstVideoFormat> {};

TEST_P(OverlayFormatTest, DrawsOnTheBoxesAndNowhereElse) {
  const GstVideoFormat format = GetParam();
  const auto [before, after] = overlay(format, "thickness=3");
  retinanet::gst::PaintStyle style;
  style.thickness = 3;
  const std::vector<cv::Rect> captions = caption_rects(style);
  ASSERT_EQ(captions.size(), std::size(kBoxes));
  const bool yuv = format == GST_VIDEO_FORMAT_I420 || format == GST_VIDEO_FORMAT_NV12;
  const int bytes = yuv ? 1 : before[0].cols / kWidth;

  // Full-resolution plane (packed pixels, or luma): changes only inside boxes and their caption banners.
  int changed_outside = 0;
  for (int y = 0; y < kHeight; ++y)
    for (int x = 0; x < kWidth; ++x)
      if (!inside_any(x, y, captions) && changed(before[0], after[0], x, y, bytes)) ++changed_outside;
  EXPECT_EQ(changed_outside, 0);

  for (size_t i = 0; i < std::size(kBoxes); ++i) {
    const Box& b = kBoxes[i];
    const cv::Rect& caption = captions[i];
    SCOPED_TRACE("box at " + std::to_string(b.x) + "," + std::to_string(b.y));
    // The banner: in the frame, resting on the box's top edge (inside the box at the frame's top), left-aligned
    // with the box unless the frame's right edge pushes it left; every pixel of it drawn (fill or text).
    ASSERT_FALSE(caption.empty());
    EXPECT_EQ(caption & cv::Rect(0, 0, kWidth, kHeight), caption);
    EXPECT_EQ(caption.y + caption.height == b.y, caption.height <= b.y) << "above the box when there is room";
    if (caption.height > b.y) {
      EXPECT_EQ(caption.y, b.y);
    }
    EXPECT_TRUE(caption.x == b.x || caption.x + caption.width == kWidth);
    int banner_unchanged = 0;
    for (int y = caption.y; y < caption.y + caption.height; ++y)
      for (int x = caption.x; x < caption.x + caption.width; ++x)
        if (!changed(before[0], after[0], x, y, bytes)) ++banner_unchanged;
    EXPECT_EQ(banner_unchanged, 0);

    // The outline: the box's edges, three pixels deep, on the frame part of it; its interior untouched, also in
    // the top-left corner when the caption sits above.
    int mid_y = std::min(b.y + b.h / 2, kHeight - 8);  // above a clipped bottom edge
    if (caption.y + caption.height > mid_y) mid_y = caption.y + caption.height + 1;  // below a caption inside
    ASSERT_LT(mid_y, std::min(b.y + b.h, kHeight) - 3);
    EXPECT_TRUE(changed(before[0], after[0], b.x, mid_y, bytes)) << "left edge";
    EXPECT_TRUE(changed(before[0], after[0], b.x + 2, mid_y, bytes));
    EXPECT_FALSE(changed(before[0], after[0], b.x + 3 + 1, mid_y, bytes)) << "inside the outline";
    if (caption.y < b.y) {
      EXPECT_FALSE(changed(before[0], after[0], b.x + 4, b.y + 4, bytes)) << "inner corner";
    }
    const int mid_x = std::min(b.x + b.w / 2, kWidth - 1);
    EXPECT_TRUE(changed(before[0], after[0], mid_x, std::min(b.y + b.h, kHeight) - 1, bytes)) << "bottom edge";
  }

  if (yuv) {
    // Chroma: a sample changes only when its 2x2 block touches a box or a banner; and they do change it.
    int chroma_changed_outside = 0, chroma_changed = 0;
    const int chroma_bytes = format == GST_VIDEO_FORMAT_NV12 ? 2 : 1;
    for (size_t p = 1; p < before.size(); ++p)
      for (int cy = 0; cy < kHeight / 2; ++cy)
        for (int cx = 0; cx < kWidth / 2; ++cx) {
          if (!changed(before[p], after[p], cx, cy, chroma_bytes)) continue;
          ++chroma_changed;
          bool touches = false;
          for (int dy = 0; dy < 2; ++dy)
            for (int dx = 0; dx < 2; ++dx) touches = touches || inside_any(2 * cx + dx, 2 * cy + dy, captions);
          if (!touches) ++chroma_changed_outside;
        }
    EXPECT_EQ(chroma_changed_outside, 0);
    EXPECT_GT(chroma_changed, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, OverlayFormatTest, testing::ValuesIn(gst_test::all_formats()),
                         [](const testing::TestParamInfo<GstVideoFormat>& info) {
                           return std::string(gst_video_format_to_string(info.param));
                         });

TEST(Overlay, OneColourPerClassAcrossMetas) {
  const auto [before, after] = overlay(GST_VIDEO_FORMAT_RGB, "");
  auto pixel = [&](const Box& b) { return after[0](cv::Rect(3 * b.x, b.y + b.h / 2, 3, 1)).clone(); };
  auto vec = [](const retinanet::gst::Rgb& c) { return cv::Vec3b(c[0], c[1], c[2]); };
  // Two "square" boxes: one colour, the class's own; a "person" box another, its own (a foreign meta too).
  EXPECT_EQ(cv::norm(pixel(kOurs), pixel(kSameClass), cv::NORM_INF), 0);
  const retinanet::gst::Rgb square = retinanet::gst::class_colour("square");
  const retinanet::gst::Rgb person = retinanet::gst::class_colour("person");
  EXPECT_EQ(pixel(kOurs).at<cv::Vec3b>(0, 0), vec(square));
  EXPECT_EQ(pixel(kForeign).at<cv::Vec3b>(0, 0), vec(person));
  EXPECT_NE(square, person);
  EXPECT_NE(cv::norm(pixel(kOurs), pixel(kForeign), cv::NORM_INF), 0);
  // The same in every run and on every platform (roi_painter.h): the palette slots FNV-1a gives these names,
  // pinned, so that a hash depending on the process or the platform (std::hash) fails here.
  EXPECT_EQ(vec(square), cv::Vec3b(0, 128, 128));
  EXPECT_EQ(vec(person), cv::Vec3b(210, 245, 60));
  EXPECT_EQ(vec(retinanet::gst::class_colour("car")), cv::Vec3b(255, 250, 200));
}

TEST(Overlay, CaptionFollowsTheShowProperties) {
  // The caption banner sits on the box's top edge, above it; without label and score there is none.
  const int x = kOurs.x + 4, y = kOurs.y - 4;
  const auto [before, with] = overlay(GST_VIDEO_FORMAT_RGB, "thickness=1");
  EXPECT_TRUE(changed(before[0], with[0], x, y, 3));
  const auto [before2, without] = overlay(GST_VIDEO_FORMAT_RGB, "thickness=1 show-labels=false show-confidence=false");
  EXPECT_FALSE(changed(before2[0], without[0], x, y, 3));
  retinanet::gst::Region region;
  region.label = "square";
  region.confidence = 0.876;
  retinanet::gst::PaintStyle style;
  EXPECT_EQ(retinanet::gst::region_caption(region, style), "square 0.88");
  style.show_confidence = false;
  EXPECT_EQ(retinanet::gst::region_caption(region, style), "square");
  region.confidence = -1;  // a foreign meta: no score to show
  style.show_confidence = true;
  EXPECT_EQ(retinanet::gst::region_caption(region, style), "square");
}

TEST(Overlay, FrameWithoutMetasIsUnchanged) {
  const auto [before, after] = overlay(GST_VIDEO_FORMAT_NV12, "", false);
  for (size_t p = 0; p < before.size(); ++p) EXPECT_EQ(cv::norm(before[p], after[p], cv::NORM_INF), 0);
}

// A frame another branch also holds (a tee): drawn on, it is copied first and the other branch's pixels stay as
// they were; without metas nothing is drawn and the memory goes on uncopied.
TEST(Overlay, SharedFrameIsCopiedOnlyWhenDrawnOn) {
  const cv::Mat grey(kHeight, kWidth, CV_8UC3, cv::Scalar(90, 100, 110));
  const gst_test::Frame f = gst_test::make_frame(grey, GST_VIDEO_FORMAT_I420);
  GstVideoInfo info;
  gst_video_info_set_format(&info, f.format, kWidth, kHeight);
  GstHarness* h = gst_harness_new("retinanetoverlay");
  gst_harness_set_src_caps_str(h, gst_test::caps_string(f).c_str());
  for (const bool with_metas : {false, true}) {
    SCOPED_TRACE(with_metas ? "with metas" : "without metas");
    GstBuffer* in = gst_test::make_buffer(f);
    if (with_metas) attach_metas(in);
    const std::vector<cv::Mat> before = gst_test::read_planes(in, info);
    GstMemory* memory = gst_buffer_peek_memory(in, 0);
    gst_buffer_ref(in);  // the other branch's reference
    GstBuffer* out = gst_harness_push_and_pull(h, in);
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(gst_buffer_peek_memory(out, 0) == memory, !with_metas);
    const std::vector<cv::Mat> in_after = gst_test::read_planes(in, info), out_after = gst_test::read_planes(out, info);
    EXPECT_EQ(cv::norm(before[0], in_after[0], cv::NORM_INF), 0) << "the other branch's frame changed";
    EXPECT_EQ(cv::norm(before[0], out_after[0], cv::NORM_INF) > 0, with_metas);
    gst_buffer_unref(out);
    gst_buffer_unref(in);
  }
  gst_harness_teardown(h);
}

}  // namespace
