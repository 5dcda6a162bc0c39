#include "gst/roi_painter.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace retinanet::gst {

namespace {

// Saturated, mutually distinct colours (RGB); a class keeps its slot for good.
constexpr Rgb kPalette[] = {
    {230, 25, 75},  {60, 180, 75},   {255, 225, 25}, {0, 130, 200},  {245, 130, 48},
    {145, 30, 180}, {70, 240, 240},  {240, 50, 230}, {210, 245, 60}, {250, 190, 212},
    {0, 128, 128},  {220, 190, 255}, {170, 110, 40}, {255, 250, 200}, {128, 0, 0},
    {170, 255, 195}, {128, 128, 0},  {255, 215, 180}, {0, 0, 128},  {255, 255, 255},
};

// Mask values: what a pixel of a region's box becomes.
enum MaskValue : uint8_t { kUntouched = 0, kBoxColour = 1, kTextColour = 2 };

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kBannerPad = 2;  // pixels around the caption inside its banner

// One region rasterised: the union of its box and its caption banner, clipped to the frame, a mask of that size,
// and its two colours.
struct RegionMask {
  cv::Rect rect;
  cv::Mat mask;  // CV_8UC1, MaskValue per pixel
  Rgb box{};
  Rgb text{};
};

int text_thickness(const PaintStyle& style) { return std::max(1, static_cast<int>(std::lround(style.font_scale * 2))); }

bool rasterise(const Region& region, int width, int height, const PaintStyle& style, RegionMask& out) {
  const cv::Rect frame(0, 0, width, height);
  const cv::Rect box = cv::Rect(region.x, region.y, region.w, region.h) & frame;
  if (box.empty()) return false;
  const std::string caption = region_caption(region, style);
  const cv::Rect banner = caption_rect(region, style, width, height);
  out.rect = banner.empty() ? box : (box | banner);
  out.mask = cv::Mat(out.rect.size(), CV_8UC1, cv::Scalar(kUntouched));

  // The outline grows inward from the box's edges, so it never leaves the box.
  const cv::Rect local_box = box - out.rect.tl();
  out.mask(local_box).setTo(kBoxColour);
  const int t = std::max(1, style.thickness);
  const cv::Rect inner(local_box.x + t, local_box.y + t, local_box.width - 2 * t, local_box.height - 2 * t);
  if (inner.width > 0 && inner.height > 0) out.mask(inner).setTo(kUntouched);

  if (!banner.empty()) {
    const cv::Rect local_banner = banner - out.rect.tl();
    out.mask(local_banner).setTo(kBoxColour);
    int baseline = 0;
    const cv::Size size = cv::getTextSize(caption, kFont, style.font_scale, text_thickness(style), &baseline);
    // Drawn into the banner's own view of the mask, so the text never leaves the banner (a banner clipped by the
    // frame clips its text). LINE_8, not anti-aliased: the mask holds categories, not coverage.
    cv::Mat banner_mask = out.mask(local_banner);
    cv::putText(banner_mask, caption, cv::Point(kBannerPad, kBannerPad + size.height), kFont, style.font_scale,
                cv::Scalar(kTextColour), text_thickness(style), cv::LINE_8);
  }
  out.box = class_colour(region.label);
  const double luma = 0.299 * out.box[0] + 0.587 * out.box[1] + 0.114 * out.box[2];
  out.text = luma > 140 ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
  return true;
}

// Packed RGB-family formats: each component's byte offset within a pixel comes from the format description.
void paint_packed(GstVideoFrame* frame, const std::vector<Region>& regions, const PaintStyle& style) {
  const int width = GST_VIDEO_FRAME_WIDTH (frame), height = GST_VIDEO_FRAME_HEIGHT (frame);
  auto* data = static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA (frame, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  const int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 0);
  const GstVideoFormatInfo* finfo = frame->info.finfo;
  const int offset[3] = {static_cast<int>(GST_VIDEO_FORMAT_INFO_POFFSET (finfo, 0)),
                         static_cast<int>(GST_VIDEO_FORMAT_INFO_POFFSET (finfo, 1)),
                         static_cast<int>(GST_VIDEO_FORMAT_INFO_POFFSET (finfo, 2))};
  const bool alpha = GST_VIDEO_FORMAT_INFO_HAS_ALPHA (finfo);
  const int alpha_offset = alpha ? static_cast<int>(GST_VIDEO_FORMAT_INFO_POFFSET (finfo, 3)) : 0;
  RegionMask m;
  for (const Region& region : regions) {
    if (!rasterise(region, width, height, style, m)) continue;
    for (int r = 0; r < m.rect.height; ++r) {
      const uint8_t* mrow = m.mask.ptr(r);
      uint8_t* row = data + static_cast<size_t>(m.rect.y + r) * stride + static_cast<size_t>(m.rect.x) * pstride;
      for (int c = 0; c < m.rect.width; ++c) {
        if (mrow[c] == kUntouched) continue;
        const Rgb& colour = mrow[c] == kBoxColour ? m.box : m.text;
        uint8_t* px = row + c * pstride;
        for (int k = 0; k < 3; ++k) px[offset[k]] = colour[k];
        if (alpha) px[alpha_offset] = 255;
      }
    }
  }
}

struct Yuv {
  uint8_t y, u, v;
};

// RGB to Y'CbCr with the frame's own matrix and range (BT.601 when the caps name none).
Yuv to_yuv(const Rgb& rgb, const GstVideoColorimetry& colorimetry) {
  gdouble kr = 0.299, kb = 0.114;
  gst_video_color_matrix_get_Kr_Kb (colorimetry.matrix, &kr, &kb);
  const double r = rgb[0], g = rgb[1], b = rgb[2];
  const double y = kr * r + (1 - kr - kb) * g + kb * b;
  const double pb = (b - y) / (2 * (1 - kb)), pr = (r - y) / (2 * (1 - kr));
  const bool full = colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
  auto clamp8 = [](double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); };
  if (full) return {clamp8(y), clamp8(128 + pb), clamp8(128 + pr)};
  return {clamp8(16 + y * 219 / 255), clamp8(128 + pb * 224 / 255), clamp8(128 + pr * 224 / 255)};
}

// I420 and NV12: luma per pixel; each chroma sample takes the colour most of its 2x2 block's drawn pixels have.
// The chroma components are addressed through their pixel strides, so planar U/V and interleaved UV share code.
void paint_yuv420(GstVideoFrame* frame, const std::vector<Region>& regions, const PaintStyle& style) {
  const int width = GST_VIDEO_FRAME_WIDTH (frame), height = GST_VIDEO_FRAME_HEIGHT (frame);
  auto* luma = static_cast<uint8_t*>(GST_VIDEO_FRAME_COMP_DATA (frame, 0));
  const int luma_stride = GST_VIDEO_FRAME_COMP_STRIDE (frame, 0);
  uint8_t* chroma[2] = {static_cast<uint8_t*>(GST_VIDEO_FRAME_COMP_DATA (frame, 1)),
                        static_cast<uint8_t*>(GST_VIDEO_FRAME_COMP_DATA (frame, 2))};
  const int chroma_stride[2] = {GST_VIDEO_FRAME_COMP_STRIDE (frame, 1), GST_VIDEO_FRAME_COMP_STRIDE (frame, 2)};
  const int chroma_pstride[2] = {GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 1), GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 2)};
  RegionMask m;
  for (const Region& region : regions) {
    if (!rasterise(region, width, height, style, m)) continue;
    const Yuv box = to_yuv(m.box, frame->info.colorimetry), text = to_yuv(m.text, frame->info.colorimetry);
    for (int r = 0; r < m.rect.height; ++r) {
      const uint8_t* mrow = m.mask.ptr(r);
      uint8_t* row = luma + static_cast<size_t>(m.rect.y + r) * luma_stride + m.rect.x;
      for (int c = 0; c < m.rect.width; ++c)
        if (mrow[c] != kUntouched) row[c] = mrow[c] == kBoxColour ? box.y : text.y;
    }
    for (int cy = m.rect.y / 2; cy <= (m.rect.y + m.rect.height - 1) / 2; ++cy) {
      for (int cx = m.rect.x / 2; cx <= (m.rect.x + m.rect.width - 1) / 2; ++cx) {
        int votes[3] = {0, 0, 0};
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) {
            const int y = 2 * cy + dy - m.rect.y, x = 2 * cx + dx - m.rect.x;
            if (y >= 0 && x >= 0 && y < m.rect.height && x < m.rect.width) ++votes[m.mask.at<uint8_t>(y, x)];
          }
        if (votes[kBoxColour] == 0 && votes[kTextColour] == 0) continue;
        const Yuv& colour = votes[kTextColour] > votes[kBoxColour] ? text : box;
        chroma[0][cy * chroma_stride[0] + cx * chroma_pstride[0]] = colour.u;
        chroma[1][cy * chroma_stride[1] + cx * chroma_pstride[1]] = colour.v;
      }
    }
  }
}

}  // namespace

Rgb class_colour(const std::string& label) {
  uint32_t hash = 2166136261u;  // FNV-1a: stable across runs and platforms, unlike std::hash
  for (unsigned char ch : label) hash = (hash ^ ch) * 16777619u;
  return kPalette[hash % (sizeof(kPalette) / sizeof(kPalette[0]))];
}

std::string region_caption(const Region& region, const PaintStyle& style) {
  std::string caption;
  if (style.show_labels) caption = region.label;
  if (style.show_confidence && region.confidence >= 0) {
    char score[16];
    std::snprintf(score, sizeof(score), "%.2f", region.confidence);
    caption += caption.empty() ? score : std::string(" ") + score;
  }
  return caption;
}

cv::Rect caption_rect(const Region& region, const PaintStyle& style, int width, int height) {
  const cv::Rect frame(0, 0, width, height);
  const cv::Rect box = cv::Rect(region.x, region.y, region.w, region.h) & frame;
  const std::string caption = region_caption(region, style);
  if (box.empty() || caption.empty()) return {};
  int baseline = 0;
  const cv::Size size = cv::getTextSize(caption, kFont, style.font_scale, text_thickness(style), &baseline);
  const int banner_w = size.width + 2 * kBannerPad, banner_h = size.height + baseline + 2 * kBannerPad;
  // Above the box's top edge when it fits there, else just inside the box; shifted left to stay in the frame.
  const int x = std::max(0, std::min(box.x, width - banner_w));
  const int y = box.y >= banner_h ? box.y - banner_h : box.y;
  return cv::Rect(x, y, banner_w, banner_h) & frame;
}

PaintFunction painter_for(GstVideoFormat format) {
  switch (format) {
    case GST_VIDEO_FORMAT_RGB:
    case GST_VIDEO_FORMAT_BGR:
    case GST_VIDEO_FORMAT_RGBA:
    case GST_VIDEO_FORMAT_BGRA:
    case GST_VIDEO_FORMAT_RGBx:
    case GST_VIDEO_FORMAT_BGRx:
      return paint_packed;
    case GST_VIDEO_FORMAT_I420:
    case GST_VIDEO_FORMAT_NV12:
      return paint_yuv420;
    default:
      return nullptr;
  }
}

}  // namespace retinanet::gst
