#include "gst/frame_view.h"

#include <opencv2/imgproc.hpp>

namespace retinanet::gst {

bool pixel_format_for(GstVideoFormat format, PixelFormat& out) {
  switch (format) {
    case GST_VIDEO_FORMAT_RGB: out = PixelFormat::kRGB; return true;
    case GST_VIDEO_FORMAT_BGR: out = PixelFormat::kBGR; return true;
    case GST_VIDEO_FORMAT_RGBA: out = PixelFormat::kRGBA; return true;
    case GST_VIDEO_FORMAT_BGRA: out = PixelFormat::kBGRA; return true;
    case GST_VIDEO_FORMAT_RGBx: out = PixelFormat::kRGBx; return true;
    case GST_VIDEO_FORMAT_BGRx: out = PixelFormat::kBGRx; return true;
    case GST_VIDEO_FORMAT_I420: out = PixelFormat::kI420; return true;
    case GST_VIDEO_FORMAT_NV12: out = PixelFormat::kNV12; return true;
    default: return false;
  }
}

namespace {

// An odd-sized I420/NV12 frame to RGB: the planes are copied into an even-sized contiguous I420 block (last row
// and column repeated), converted by the same OpenCV routine the detector uses, and cropped back.
void odd_yuv_to_rgb(const GstVideoFrame& frame, cv::Mat& rgb) {
  const int w = GST_VIDEO_FRAME_WIDTH (&frame), h = GST_VIDEO_FRAME_HEIGHT (&frame);
  const int ew = w + (w & 1), eh = h + (h & 1);
  const int cw = ew / 2, ch = eh / 2;
  cv::Mat packed(eh + eh / 2, ew, CV_8UC1);  // [Y: eh x ew][U: ch x cw][V: ch x cw], rows of U/V packed 2 per row
  const auto* y = static_cast<const uint8_t*>(GST_VIDEO_FRAME_COMP_DATA (&frame, 0));
  const int ys = GST_VIDEO_FRAME_COMP_STRIDE (&frame, 0);
  for (int r = 0; r < eh; ++r) {
    uint8_t* dst = packed.ptr(r);
    const uint8_t* src = y + std::min(r, h - 1) * ys;
    std::copy(src, src + w, dst);
    if (ew > w) dst[w] = src[w - 1];
  }
  uint8_t* u_dst = packed.ptr(eh);
  uint8_t* v_dst = u_dst + cw * ch;
  for (int c = 1; c <= 2; ++c) {
    // GStreamer's chroma planes of an odd frame already hold ceil(w/2) x ceil(h/2) samples.
    const auto* base = static_cast<const uint8_t*>(GST_VIDEO_FRAME_COMP_DATA (&frame, c));
    const int stride = GST_VIDEO_FRAME_COMP_STRIDE (&frame, c);
    const int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE (&frame, c);
    uint8_t* dst = c == 1 ? u_dst : v_dst;
    for (int r = 0; r < ch; ++r)
      for (int col = 0; col < cw; ++col) dst[r * cw + col] = base[r * stride + col * pstride];
  }
  cv::Mat full;
  cv::cvtColor(packed, full, cv::COLOR_YUV2RGB_I420);
  rgb = full(cv::Rect(0, 0, w, h)).clone();
}

}  // namespace

ImageView image_view(const GstVideoFrame& frame, PixelFormat format, cv::Mat& scratch) {
  const int w = GST_VIDEO_FRAME_WIDTH (&frame), h = GST_VIDEO_FRAME_HEIGHT (&frame);
  const bool planar = format == PixelFormat::kI420 || format == PixelFormat::kNV12;
  if (planar && (w % 2 || h % 2)) {
    odd_yuv_to_rgb(frame, scratch);
    return ImageView::packed(PixelFormat::kRGB, w, h, scratch.data, scratch.step);
  }
  ImageView view;
  view.format = format;
  view.width = w;
  view.height = h;
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES (&frame) && p < 3; ++p) {
    view.planes[p] = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA (&frame, p));
    view.strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, p);
  }
  return view;
}

}  // namespace retinanet::gst
