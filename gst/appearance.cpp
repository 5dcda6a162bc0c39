#include "gst/appearance.h"

#include <algorithm>
#include <cmath>

#include "model/inference/transform.h"
#include "tracking/appearance.h"

namespace retinanet::gst {

namespace {

// Adds one RGB sample to the histogram, shared trilinearly between the bins whose centres surround it.
void add_sample(std::vector<float>& hist, const uint8_t* rgb) {
  constexpr int n = tracking::kAppearanceBinsPerChannel;
  constexpr float width = 256.f / n;
  int lo[3];
  float frac[3];
  for (int c = 0; c < 3; ++c) {
    const float pos = std::clamp((rgb[c] + 0.5f) / width - 0.5f, 0.f, static_cast<float>(n - 1));
    lo[c] = std::min(static_cast<int>(pos), n - 2);
    frac[c] = pos - static_cast<float>(lo[c]);
  }
  for (int k = 0; k < 8; ++k) {
    float w = 1;
    int index = 0;
    for (int c = 0; c < 3; ++c) {
      const int up = (k >> c) & 1;
      w *= up ? frac[c] : 1 - frac[c];
      index = index * n + lo[c] + up;
    }
    hist[static_cast<size_t>(index)] += w;
  }
}

}  // namespace

std::vector<float> appearance_descriptor(const ImageView& image, const tracking::Box& box) {
  // The middle half of the box, inside the frame.
  const float qw = 0.25f * box.width(), qh = 0.25f * box.height();
  const float x1 = std::max(0.f, box.x1 + qw), x2 = std::min(static_cast<float>(image.width), box.x2 - qw);
  const float y1 = std::max(0.f, box.y1 + qh), y2 = std::min(static_cast<float>(image.height), box.y2 - qh);
  if (!image.planes[0] || x2 - x1 <= 0 || y2 - y1 <= 0) return {};
  const int nx = std::clamp(static_cast<int>(std::ceil(x2 - x1)), 1, kAppearanceGrid);
  const int ny = std::clamp(static_cast<int>(std::ceil(y2 - y1)), 1, kAppearanceGrid);
  // The sample grid: cell centres, as pixel coordinates inside the frame.
  std::vector<int> xs(nx), ys(ny);
  for (int i = 0; i < nx; ++i)
    xs[i] = std::clamp(static_cast<int>(x1 + (i + 0.5f) * (x2 - x1) / nx), 0, image.width - 1);
  for (int j = 0; j < ny; ++j)
    ys[j] = std::clamp(static_cast<int>(y1 + (j + 0.5f) * (y2 - y1) / ny), 0, image.height - 1);

  std::vector<float> hist(tracking::kAppearanceSize, 0.f);
  if (image.format == PixelFormat::kI420 || image.format == PixelFormat::kNV12) {
    // The samples as a small I420 image of their own, each one a 2x2 block of its luma with its chroma, converted
    // by the detector's own conversion: the RGB of every block is the frame's pixel's.
    const int w = 2 * nx, h = 2 * ny;
    std::vector<uint8_t> yuv(static_cast<size_t>(w) * h * 3 / 2);
    uint8_t* yp = yuv.data();
    uint8_t* up = yp + static_cast<size_t>(w) * h;
    uint8_t* vp = up + static_cast<size_t>(nx) * ny;
    const bool nv12 = image.format == PixelFormat::kNV12;
    for (int j = 0; j < ny; ++j)
      for (int i = 0; i < nx; ++i) {
        const uint8_t luma = image.planes[0][ys[j] * image.strides[0] + xs[i]];
        for (int d = 0; d < 4; ++d) yp[(2 * j + d / 2) * w + 2 * i + d % 2] = luma;
        const size_t cy = static_cast<size_t>(ys[j] / 2), cx = static_cast<size_t>(xs[i] / 2);
        if (nv12) {
          up[j * nx + i] = image.planes[1][cy * image.strides[1] + 2 * cx];
          vp[j * nx + i] = image.planes[1][cy * image.strides[1] + 2 * cx + 1];
        } else {
          up[j * nx + i] = image.planes[1][cy * image.strides[1] + cx];
          vp[j * nx + i] = image.planes[2][cy * image.strides[2] + cx];
        }
      }
    ImageView samples;
    samples.format = PixelFormat::kI420;
    samples.width = w;
    samples.height = h;
    samples.planes[0] = yp;
    samples.planes[1] = up;
    samples.planes[2] = vp;
    samples.strides[0] = static_cast<size_t>(w);
    samples.strides[1] = samples.strides[2] = static_cast<size_t>(nx);
    const cv::Mat rgb = yuv_to_rgb(samples);
    for (int j = 0; j < ny; ++j)
      for (int i = 0; i < nx; ++i) add_sample(hist, rgb.ptr(2 * j) + 3 * (2 * i));
  } else {
    const int bytes = packed_pixel_bytes(image.format);
    const bool bgr = image.format == PixelFormat::kBGR || image.format == PixelFormat::kBGRA ||
                     image.format == PixelFormat::kBGRx;
    for (int j = 0; j < ny; ++j)
      for (int i = 0; i < nx; ++i) {
        const uint8_t* p = image.planes[0] + ys[j] * image.strides[0] + static_cast<size_t>(xs[i]) * bytes;
        const uint8_t rgb[3] = {p[bgr ? 2 : 0], p[1], p[bgr ? 0 : 2]};
        add_sample(hist, rgb);
      }
  }
  const float total = static_cast<float>(nx * ny);
  for (float& v : hist) v /= total;
  return hist;
}

}  // namespace retinanet::gst
