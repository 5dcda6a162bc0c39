// A frame as the detector receives it: 8-bit pixels in memory it does not own. No LibTorch or GStreamer here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace retinanet {

enum class PixelFormat {
  kRGB, kBGR,                     // 3 bytes per pixel
  kRGBA, kBGRA, kRGBx, kBGRx,     // 4 bytes per pixel, the fourth ignored
  kI420,                          // planar Y, U, V; chroma halved in both directions, rounded up
  kNV12,                          // planar Y, interleaved UV; chroma halved in both directions, rounded up
};

struct ImageView {
  PixelFormat format = PixelFormat::kRGB;
  int width = 0;
  int height = 0;
  const uint8_t* planes[3] = {nullptr, nullptr, nullptr};  // packed formats use planes[0] only
  size_t strides[3] = {0, 0, 0};                           // bytes per row of each plane

  // A packed image (RGB, BGR and the 4-byte formats) in one plane.
  static ImageView packed(PixelFormat format, int width, int height, const uint8_t* data, size_t stride) {
    ImageView v;
    v.format = format;
    v.width = width;
    v.height = height;
    v.planes[0] = data;
    v.strides[0] = stride;
    return v;
  }
};

// Bytes per pixel of a packed format, 0 for the planar ones.
int packed_pixel_bytes(PixelFormat format);
// "RGB", "NV12", ...; and the reverse, returning false for an unknown name.
const char* pixel_format_name(PixelFormat format);
bool parse_pixel_format(const std::string& name, PixelFormat& format);

}  // namespace retinanet
