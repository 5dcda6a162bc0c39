// Per-pixel math of the pre-processing, shared by the host twin and the `preprocess` kernel: a frame pixel as RGB
// (OpenCV's BT.601 conversion for the YUV formats), ToTensor's scaling and the normalisation, and ATen's bilinear
// sampling (upsample_bilinear2d, align_corners=False). Each output pixel is what torchvision's
// GeneralizedRCNNTransform gives: normalise, resize, zero-pad.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/host_device.h"
#include "common/image.h"

namespace retinanet {

// What the pre-processing needs besides the frame: the resized size, the padded size and the normalisation.
struct PreprocessParams {
  int resized_h = 0, resized_w = 0;  // transform.resized_size()
  int padded_h = 0, padded_w = 0;    // multiples of 32, at least the resized size
  float mean[3] = {0.485f, 0.456f, 0.406f};
  float std[3] = {0.229f, 0.224f, 0.225f};
};

// OpenCV's fixed-point BT.601 (limited range) YUV -> RGB (imgproc color_yuv: ITUR_BT_601_*, uvToRGBuv and
// yRGBuvToRGBA), which COLOR_YUV2RGB_I420 and COLOR_YUV2RGB_NV12 use; chroma is shared by each 2x2 block.
constexpr int kBt601Shift = 20;
constexpr int kBt601Cy = 1220542;
constexpr int kBt601Cub = 2116026;
constexpr int kBt601Cug = -409993;
constexpr int kBt601Cvg = -852492;
constexpr int kBt601Cvr = 1673527;

RETINANET_HD uint8_t saturate_u8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

RETINANET_HD void yuv_to_rgb(int y, int u, int v, uint8_t rgb[3]) {
  const int uu = u - 128, vv = v - 128;
  const int half = 1 << (kBt601Shift - 1);
  const int ruv = half + kBt601Cvr * vv;
  const int guv = half + kBt601Cvg * vv + kBt601Cug * uu;
  const int buv = half + kBt601Cub * uu;
  const int yy = (y - 16 > 0 ? y - 16 : 0) * kBt601Cy;
  rgb[0] = saturate_u8((yy + ruv) >> kBt601Shift);
  rgb[1] = saturate_u8((yy + guv) >> kBt601Shift);
  rgb[2] = saturate_u8((yy + buv) >> kBt601Shift);
}

// The pixel at (row, col) of the frame as 8-bit RGB, for every PixelFormat.
RETINANET_HD void load_rgb(const ImageView& im, int row, int col, uint8_t rgb[3]) {
  const uint8_t* p0 = im.planes[0] + static_cast<size_t>(row) * im.strides[0];
  switch (im.format) {
    case PixelFormat::kRGB: rgb[0] = p0[3 * col]; rgb[1] = p0[3 * col + 1]; rgb[2] = p0[3 * col + 2]; return;
    case PixelFormat::kBGR: rgb[0] = p0[3 * col + 2]; rgb[1] = p0[3 * col + 1]; rgb[2] = p0[3 * col]; return;
    case PixelFormat::kRGBA:
    case PixelFormat::kRGBx: rgb[0] = p0[4 * col]; rgb[1] = p0[4 * col + 1]; rgb[2] = p0[4 * col + 2]; return;
    case PixelFormat::kBGRA:
    case PixelFormat::kBGRx: rgb[0] = p0[4 * col + 2]; rgb[1] = p0[4 * col + 1]; rgb[2] = p0[4 * col]; return;
    case PixelFormat::kI420: {
      const size_t crow = static_cast<size_t>(row / 2);
      yuv_to_rgb(p0[col], im.planes[1][crow * im.strides[1] + col / 2], im.planes[2][crow * im.strides[2] + col / 2], rgb);
      return;
    }
    case PixelFormat::kNV12: {
      const uint8_t* uv = im.planes[1] + static_cast<size_t>(row / 2) * im.strides[1] + 2 * (col / 2);
      yuv_to_rgb(p0[col], uv[0], uv[1], rgb);
      return;
    }
  }
  rgb[0] = rgb[1] = rgb[2] = 0;
}

// One tap pair of ATen's linear interpolation along one axis: source indices and weights.
struct LinearTaps {
  int i0, i1;
  float w0, w1;
};

// ATen (UpSample.h) for align_corners=False and no explicit scale: area_pixel_compute_scale (a float),
// area_pixel_compute_source_index and the weights, and the `input_index < input_size - 1` neighbour.
// The LibTorch/PyTorch 1.13 that Debian ships evaluates the source index `scale * (dst_index + 0.5) - 0.5` and the
// weight `lambda = index - floor(index)` in double (dst_index is an int64 and 0.5 a double there), rounding only the
// weights to float; float arithmetic instead moves a weight by an ulp of the source index (2e-5 at index 136).
// LibTorch 2.x (the GPU build's) computes both in float (opmath_t): meson defines RETINANET_ATEN_FLOAT_SOURCE_INDEX
// there, so that the kernel gives the numbers of the LibTorch the CPU path uses.
RETINANET_HD LinearTaps linear_taps(int input_size, int output_size, int dst) {
  const float scale = static_cast<float>(input_size) / static_cast<float>(output_size);
#ifdef RETINANET_ATEN_FLOAT_SOURCE_INDEX
  using index_t = float;
  const index_t real_unclamped = scale * (static_cast<float>(dst) + 0.5f) - 0.5f;
#else
  using index_t = double;
  const index_t real_unclamped = static_cast<double>(scale) * (static_cast<double>(dst) + 0.5) - 0.5;
#endif
  const index_t real = real_unclamped < index_t(0) ? index_t(0) : real_unclamped;
  int i0 = static_cast<int>(floor(real));
  i0 = i0 < input_size - 1 ? i0 : input_size - 1;
  index_t lambda = real - static_cast<index_t>(i0);
  lambda = lambda < index_t(0) ? index_t(0) : (lambda > index_t(1) ? index_t(1) : lambda);
  return LinearTaps{i0, i0 + (i0 < input_size - 1 ? 1 : 0), static_cast<float>(index_t(1) - lambda),
                    static_cast<float>(lambda)};
}

// ToTensor then Normalize for one pixel: (v / 255 - mean) / std per channel, in torch's operation order.
RETINANET_HD void normalize_pixel(const uint8_t rgb[3], const PreprocessParams& p, float out[3]) {
  for (int c = 0; c < 3; ++c) out[c] = (static_cast<float>(rgb[c]) / 255.f - p.mean[c]) / p.std[c];
}

// The network input at (row, col) of the padded [3, padded_h, padded_w] image, all three channels.
RETINANET_HD void preprocess_pixel(const ImageView& im, const PreprocessParams& p, int row, int col, float out[3]) {
  if (row >= p.resized_h || col >= p.resized_w) {
    out[0] = out[1] = out[2] = 0.f;
    return;
  }
  const LinearTaps ty = linear_taps(im.height, p.resized_h, row);
  const LinearTaps tx = linear_taps(im.width, p.resized_w, col);
  uint8_t rgb[3];
  float v00[3], v01[3], v10[3], v11[3];
  load_rgb(im, ty.i0, tx.i0, rgb);
  normalize_pixel(rgb, p, v00);
  load_rgb(im, ty.i0, tx.i1, rgb);
  normalize_pixel(rgb, p, v01);
  load_rgb(im, ty.i1, tx.i0, rgb);
  normalize_pixel(rgb, p, v10);
  load_rgb(im, ty.i1, tx.i1, rgb);
  normalize_pixel(rgb, p, v11);
  // ATen's separable order: along the width within each row, then along the height.
  for (int c = 0; c < 3; ++c) {
    const float top = v00[c] * tx.w0 + v01[c] * tx.w1;
    const float bottom = v10[c] * tx.w0 + v11[c] * tx.w1;
    out[c] = top * ty.w0 + bottom * ty.w1;
  }
}

// The host twin of the `preprocess` kernel: [3, padded_h, padded_w] float32.
inline std::vector<float> preprocess_host(const ImageView& im, const PreprocessParams& p) {
  const size_t plane = static_cast<size_t>(p.padded_h) * p.padded_w;
  std::vector<float> out(3 * plane);
  for (int row = 0; row < p.padded_h; ++row)
    for (int col = 0; col < p.padded_w; ++col) {
      float v[3];
      preprocess_pixel(im, p, row, col, v);
      for (int c = 0; c < 3; ++c) out[c * plane + static_cast<size_t>(row) * p.padded_w + col] = v[c];
    }
  return out;
}

}  // namespace retinanet
