#include "gst/frame_view.h"

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

ImageView image_view(const GstVideoFrame& frame, PixelFormat format) {
  ImageView view;
  view.format = format;
  view.width = GST_VIDEO_FRAME_WIDTH (&frame);
  view.height = GST_VIDEO_FRAME_HEIGHT (&frame);
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES (&frame) && p < 3; ++p) {
    view.planes[p] = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA (&frame, p));
    view.strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, p);
  }
  return view;
}

}  // namespace retinanet::gst
