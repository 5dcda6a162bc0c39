#include "common/image.h"

namespace retinanet {

namespace {

struct FormatInfo {
  PixelFormat format;
  const char* name;
  int bytes;
};
constexpr FormatInfo kFormats[] = {
    {PixelFormat::kRGB, "RGB", 3},   {PixelFormat::kBGR, "BGR", 3},   {PixelFormat::kRGBA, "RGBA", 4},
    {PixelFormat::kBGRA, "BGRA", 4}, {PixelFormat::kRGBx, "RGBx", 4}, {PixelFormat::kBGRx, "BGRx", 4},
    {PixelFormat::kI420, "I420", 0}, {PixelFormat::kNV12, "NV12", 0},
};

}  // namespace

int packed_pixel_bytes(PixelFormat format) {
  for (const auto& f : kFormats)
    if (f.format == format) return f.bytes;
  return 0;
}

const char* pixel_format_name(PixelFormat format) {
  for (const auto& f : kFormats)
    if (f.format == format) return f.name;
  return "unknown";
}

bool parse_pixel_format(const std::string& name, PixelFormat& format) {
  for (const auto& f : kFormats)
    if (name == f.name) {
      format = f.format;
      return true;
    }
  return false;
}

}  // namespace retinanet
