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

// The outline ring of `box` (local to the mask), `t` pixels wide, inward; dashed: `dash` pixels drawn, `dash`
// left out, along both axes (x + y runs along every edge).
void draw_outline(cv::Mat& mask, const cv::Rect& box, int t, int dash) {
  mask(box).setTo(kBoxColour);
  const cv::Rect inner(box.x + t, box.y + t, box.width - 2 * t, box.height - 2 * t);
  if (inner.width > 0 && inner.height > 0) mask(inner).setTo(kUntouched);
  if (dash <= 0) return;
  for (int y = box.y; y < box.y + box.height; ++y) {
    uint8_t* row = mask.ptr(y);
    for (int x = box.x; x < box.x + box.width; ++x)
      if (((x + y) / dash) % 2 == 1) row[x] = kUntouched;
  }
}

bool rasterise(const Region& region, const cv::Rect& banner, int width, int height, const PaintStyle& style,
               RegionMask& out) {
  const cv::Rect frame(0, 0, width, height);
  const cv::Rect box = cv::Rect(region.x, region.y, region.w, region.h) & frame;
  if (box.empty()) return false;
  const std::string caption = region_caption(region, style);
  out.rect = banner.empty() ? box : (box | banner);
  out.mask = cv::Mat(out.rect.size(), CV_8UC1, cv::Scalar(kUntouched));

  // The outline grows inward from the box's edges, so it never leaves the box. Carried and predicted boxes: half
  // as thick and dashed.
  const bool faded = region.stale || region.predicted;
  const int t = faded ? std::max(1, style.thickness / 2) : std::max(1, style.thickness);
  draw_outline(out.mask, box - out.rect.tl(), t, faded ? std::max(4, 3 * t) : 0);

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
  out.box = region_colour(region, style);
  const double luma = 0.299 * out.box[0] + 0.587 * out.box[1] + 0.114 * out.box[2];
  out.text = luma > 140 ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
  return true;
}

// A trail as a mask over its points' bounding box, clipped to the frame.
bool rasterise_trail(const Trail& trail, int width, int height, const PaintStyle& style, RegionMask& out) {
  if (trail.points.size() < 2) return false;
  const int t = std::max(1, style.thickness / 2);
  const cv::Rect bounds = cv::boundingRect(trail.points);
  out.rect = cv::Rect(bounds.x - t, bounds.y - t, bounds.width + 2 * t, bounds.height + 2 * t) &
             cv::Rect(0, 0, width, height);
  if (out.rect.empty()) return false;
  out.mask = cv::Mat(out.rect.size(), CV_8UC1, cv::Scalar(kUntouched));
  std::vector<cv::Point> local;
  for (const cv::Point& p : trail.points) local.push_back(p - out.rect.tl());
  cv::polylines(out.mask, local, false, cv::Scalar(kBoxColour), t, cv::LINE_8);
  out.box = out.text = trail.colour;
  return true;
}

// Everything a frame shows, as masks in drawing order: trails under the boxes, boxes by the regions' order.
std::vector<RegionMask> rasterise_all(const std::vector<Region>& regions, const PaintStyle& style,
                                      const std::vector<Trail>& trails, int width, int height) {
  std::vector<RegionMask> masks;
  RegionMask m;
  for (const Trail& trail : trails)
    if (rasterise_trail(trail, width, height, style, m)) masks.push_back(std::move(m));
  const std::vector<cv::Rect> banners = caption_layout(regions, style, width, height);
  for (size_t i = 0; i < regions.size(); ++i)
    if (rasterise(regions[i], banners[i], width, height, style, m)) masks.push_back(std::move(m));
  return masks;
}

// Packed RGB-family formats: each component's byte offset within a pixel comes from the format description.
void paint_packed(GstVideoFrame* frame, const std::vector<Region>& regions, const PaintStyle& style,
                  const std::vector<Trail>& trails) {
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
  for (const RegionMask& m : rasterise_all(regions, style, trails, width, height)) {
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
void paint_yuv420(GstVideoFrame* frame, const std::vector<Region>& regions, const PaintStyle& style,
                  const std::vector<Trail>& trails) {
  const int width = GST_VIDEO_FRAME_WIDTH (frame), height = GST_VIDEO_FRAME_HEIGHT (frame);
  auto* luma = static_cast<uint8_t*>(GST_VIDEO_FRAME_COMP_DATA (frame, 0));
  const int luma_stride = GST_VIDEO_FRAME_COMP_STRIDE (frame, 0);
  uint8_t* chroma[2] = {static_cast<uint8_t*>(GST_VIDEO_FRAME_COMP_DATA (frame, 1)),
                        static_cast<uint8_t*>(GST_VIDEO_FRAME_COMP_DATA (frame, 2))};
  const int chroma_stride[2] = {GST_VIDEO_FRAME_COMP_STRIDE (frame, 1), GST_VIDEO_FRAME_COMP_STRIDE (frame, 2)};
  const int chroma_pstride[2] = {GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 1), GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 2)};
  for (const RegionMask& m : rasterise_all(regions, style, trails, width, height)) {
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

Rgb region_colour(const Region& region, const PaintStyle& style) {
  if (!style.colours.empty()) {
    auto it = style.colours.find(region.label);
    if (it == style.colours.end() && region.label_id >= 0) it = style.colours.find(std::to_string(region.label_id));
    if (it != style.colours.end()) return it->second;
  }
  return class_colour(region.label);
}

bool parse_class_colours(const std::string& text, ClassColours& out, std::string& error) {
  ClassColours parsed;
  auto trim = [](std::string t) {
    const size_t b = t.find_first_not_of(" \t"), e = t.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : t.substr(b, e - b + 1);
  };
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string entry = trim(text.substr(start, comma - start));
    start = comma + 1;
    if (entry.empty()) continue;
    const size_t eq = entry.find('=');
    const std::string name = eq == std::string::npos ? "" : trim(entry.substr(0, eq));
    std::string hex = eq == std::string::npos ? "" : trim(entry.substr(eq + 1));
    if (hex.rfind("0x", 0) == 0 || hex.rfind("0X", 0) == 0) hex = hex.substr(2);
    else if (!hex.empty() && hex[0] == '#') hex = hex.substr(1);
    if (name.empty() || hex.size() != 6 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      error = "'" + entry + "' is not class=RRGGBB";
      return false;
    }
    const unsigned long rgb = std::stoul(hex, nullptr, 16);
    parsed[name] = Rgb{static_cast<uint8_t>(rgb >> 16), static_cast<uint8_t>(rgb >> 8), static_cast<uint8_t>(rgb)};
  }
  out = std::move(parsed);
  return true;
}

std::string region_caption(const Region& region, const PaintStyle& style) {
  std::string caption;
  if (style.show_ids && region.object_id >= 0) caption = "#" + std::to_string(region.object_id);
  if (style.show_labels && !region.label.empty()) caption += caption.empty() ? region.label : " " + region.label;
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

std::vector<Trail> TrailHistory::update(const std::vector<Region>& regions, const PaintStyle& style,
                                       unsigned length) {
  if (length == 0) {
    paths_.clear();
    return {};
  }
  for (auto& [id, path] : paths_) ++path.unseen;
  for (const Region& r : regions) {
    if (r.object_id < 0) continue;
    Path& path = paths_[r.object_id];
    path.points.emplace_back(r.x + r.w / 2, r.y + r.h / 2);
    path.colour = region_colour(r, style);
    path.unseen = 0;
  }
  std::vector<Trail> trails;
  for (auto it = paths_.begin(); it != paths_.end();) {
    Path& path = it->second;
    while (path.points.size() > length) path.points.pop_front();
    if (path.unseen >= length) {
      it = paths_.erase(it);
      continue;
    }
    if (path.unseen == 0) trails.push_back({{path.points.begin(), path.points.end()}, path.colour});
    ++it;
  }
  return trails;
}

std::vector<cv::Rect> caption_layout(const std::vector<Region>& regions, const PaintStyle& style, int width,
                                     int height) {
  const cv::Rect frame(0, 0, width, height);
  std::vector<cv::Rect> placed(regions.size());
  for (size_t i = 0; i < regions.size(); ++i) {
    const cv::Rect preferred = caption_rect(regions[i], style, width, height);
    if (preferred.empty()) continue;
    const cv::Rect box = cv::Rect(regions[i].x, regions[i].y, regions[i].w, regions[i].h) & frame;
    const int w = preferred.width, h = preferred.height, x = preferred.x;
    // Candidates in order of preference; each is kept whole inside the frame.
    std::vector<cv::Rect> candidates = {preferred, {x, box.y, w, h}, {x, box.y + box.height, w, h},
                                        {x, box.y + box.height - h, w, h}};
    for (int k = 1; k <= 3; ++k) {
      candidates.push_back({x, box.y - (k + 1) * h, w, h});
      candidates.push_back({x, box.y + box.height + k * h, w, h});
    }
    cv::Rect best;
    long best_overlap = -1;
    for (const cv::Rect& c : candidates) {
      if ((c & frame) != c && c != preferred) continue;
      long overlap = 0;
      for (size_t j = 0; j < i; ++j) overlap += (c & placed[j]).area();
      if (best_overlap < 0 || overlap < best_overlap) {
        best = c;
        best_overlap = overlap;
      }
      if (overlap == 0) break;
    }
    placed[i] = best;
  }
  return placed;
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
