#include "model/inference/transform.h"

#include <torch/nn/functional/padding.h>
#include <torch/nn/functional/upsampling.h>

#include <cmath>
#include <cstring>
#include <opencv2/imgproc.hpp>

#include "common/model_error.h"
#include "common/preprocess_math.h"

namespace retinanet {

namespace F = torch::nn::functional;

namespace {

// Copies `rows` x `cols` chroma samples, `pixel_stride` bytes apart, into a packed plane, repeating the last
// row and column to fill `out_rows` x `out_cols`.
void pack_plane(const uint8_t* src, size_t stride, int pixel_stride, int rows, int cols, int out_rows, int out_cols,
                uint8_t* dst) {
  for (int r = 0; r < out_rows; ++r, dst += out_cols) {
    const uint8_t* row = src + std::min(r, rows - 1) * stride;
    if (pixel_stride == 1) {
      std::memcpy(dst, row, static_cast<size_t>(cols));
    } else {
      for (int c = 0; c < cols; ++c) dst[c] = row[c * pixel_stride];
    }
    for (int c = cols; c < out_cols; ++c) dst[c] = dst[cols - 1];
  }
}

}  // namespace

// YUV frames become RGB through OpenCV (BT.601, limited range, as videoconvert does for SD content).
cv::Mat yuv_to_rgb(const ImageView& image) {
  cv::Mat rgb;
  const int w = image.width, h = image.height;
  const bool nv12 = image.format == PixelFormat::kNV12;
  cv::Mat y(h, w, CV_8UC1, const_cast<uint8_t*>(image.planes[0]), image.strides[0]);
  if (nv12 && w % 2 == 0 && h % 2 == 0) {
    cv::Mat uv(h / 2, w / 2, CV_8UC2, const_cast<uint8_t*>(image.planes[1]), image.strides[1]);
    cv::cvtColorTwoPlane(y, uv, rgb, cv::COLOR_YUV2RGB_NV12);
    return rgb;
  }
  // OpenCV wants I420 as one contiguous [H * 3 / 2, W] block of even sizes: Y, then U, then V, each packed.
  const int ew = w + (w & 1), eh = h + (h & 1);
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;  // the frame's chroma samples per row and rows
  cv::Mat packed(eh + eh / 2, ew, CV_8UC1);
  pack_plane(image.planes[0], image.strides[0], 1, h, w, eh, ew, packed.ptr(0));
  uint8_t* u = packed.ptr(eh);
  uint8_t* v = u + (ew / 2) * (eh / 2);
  if (nv12) {
    pack_plane(image.planes[1], image.strides[1], 2, ch, cw, eh / 2, ew / 2, u);
    pack_plane(image.planes[1] + 1, image.strides[1], 2, ch, cw, eh / 2, ew / 2, v);
  } else {
    pack_plane(image.planes[1], image.strides[1], 1, ch, cw, eh / 2, ew / 2, u);
    pack_plane(image.planes[2], image.strides[2], 1, ch, cw, eh / 2, ew / 2, v);
  }
  cv::cvtColor(packed, rgb, cv::COLOR_YUV2RGB_I420);
  return ew == w && eh == h ? rgb : rgb(cv::Rect(0, 0, w, h)).clone();
}

void check_frame(const ImageView& image) {
  if (image.width <= 0 || image.height <= 0 || !image.planes[0])
    throw ModelError("empty image (" + std::to_string(image.width) + "x" + std::to_string(image.height) + ")");
}

torch::Tensor image_to_tensor(const ImageView& image) {
  check_frame(image);
  torch::Tensor hwc;
  if (image.format == PixelFormat::kI420 || image.format == PixelFormat::kNV12) {
    cv::Mat rgb = yuv_to_rgb(image);
    hwc = torch::from_blob(rgb.data, {image.height, image.width, 3}, torch::kUInt8).clone();
  } else {
    const int64_t bytes = packed_pixel_bytes(image.format);
    const torch::Tensor pixels = torch::from_blob(const_cast<uint8_t*>(image.planes[0]), {image.height, image.width, bytes},
                                                  {static_cast<int64_t>(image.strides[0]), bytes, 1}, torch::kUInt8);
    const bool bgr = image.format == PixelFormat::kBGR || image.format == PixelFormat::kBGRA ||
                     image.format == PixelFormat::kBGRx;
    hwc = bgr ? pixels.index({torch::indexing::Slice(), torch::indexing::Slice(), torch::tensor({2, 1, 0})})
              : pixels.slice(2, 0, 3);
  }
  // ToTensor: [H, W, C] uint8 -> [C, H, W] float / 255 (the layout changed while the pixels are still bytes).
  return hwc.permute({2, 0, 1}).contiguous().to(torch::kFloat32).div_(255);
}

std::pair<int64_t, int64_t> resized_size(int64_t height, int64_t width, int min_size, int max_size) {
  // scale = min(min_size / short, max_size / long) on float32 tensors, where `a / t` is reciprocal(t) * a.
  const float short_side = static_cast<float>(std::min(height, width));
  const float long_side = static_cast<float>(std::max(height, width));
  const float scale = std::min((1.0f / short_side) * static_cast<float>(min_size),
                               (1.0f / long_side) * static_cast<float>(max_size));
  // interpolate(recompute_scale_factor=True): floor(float(size) * scale) with the scale as a Python double.
  const double s = static_cast<double>(scale);
  return {static_cast<int64_t>(std::floor(static_cast<double>(height) * s)),
          static_cast<int64_t>(std::floor(static_cast<double>(width) * s))};
}

InputGeometry input_geometry(int64_t height, int64_t width, int min_size, int max_size) {
  InputGeometry geometry;
  geometry.frame = {height, width};
  geometry.resized = resized_size(height, width, min_size, max_size);
  // torchvision's interpolate refuses a 0-pixel side; the smallest input the network takes is 1 pixel.
  geometry.resized.first = std::max<int64_t>(geometry.resized.first, 1);
  geometry.resized.second = std::max<int64_t>(geometry.resized.second, 1);
  geometry.padded = {padded_size(geometry.resized.first), padded_size(geometry.resized.second)};
  return geometry;
}

torch::Tensor normalize_and_resize(const torch::Tensor& image, const std::vector<float>& mean,
                                   const std::vector<float>& std, int min_size, int max_size) {
  const torch::Tensor m = torch::tensor(mean, torch::kFloat32).to(image.device()).view({3, 1, 1});
  const torch::Tensor s = torch::tensor(std, torch::kFloat32).to(image.device()).view({3, 1, 1});
  const torch::Tensor normalized = image.sub(m).div_(s);
  const auto [h, w] = input_geometry(image.size(1), image.size(2), min_size, max_size).resized;
  // At scale 1 bilinear sampling (align_corners=False) reads each pixel with weight 1 and its neighbour with
  // weight 0: the identity, so the pass is skipped.
  if (h == image.size(1) && w == image.size(2)) return normalized;
  const torch::Tensor resized = F::interpolate(normalized.unsqueeze(0), F::InterpolateFuncOptions()
                                                                            .size(std::vector<int64_t>{h, w})
                                                                            .mode(torch::kBilinear)
                                                                            .align_corners(false));
  return resized[0];
}

torch::Tensor preprocess_frame(const ImageView& image, const std::vector<float>& mean, const std::vector<float>& std,
                               int min_size, int max_size, int64_t direct_above_pixels) {
  check_frame(image);
  if (static_cast<int64_t>(image.width) * image.height <= direct_above_pixels)
    return normalize_and_resize(image_to_tensor(image), mean, std, min_size, max_size);
  // Bilinear sampling reads 2x2 source pixels per output pixel: only the output is ever held in float.
  const auto [h, w] = input_geometry(image.height, image.width, min_size, max_size).resized;
  PreprocessParams p;
  p.resized_h = p.padded_h = static_cast<int>(h);
  p.resized_w = p.padded_w = static_cast<int>(w);
  for (int c = 0; c < 3; ++c) {
    p.mean[c] = mean.at(static_cast<size_t>(c));
    p.std[c] = std.at(static_cast<size_t>(c));
  }
  std::vector<float> pixels = preprocess_host(image, p);  // [3, h, w]
  return torch::from_blob(pixels.data(), {3, h, w}, torch::kFloat32).clone();
}

torch::Tensor pad_batch(const std::vector<torch::Tensor>& images) {
  if (images.size() == 1 && images[0].size(1) % kSizeDivisible == 0 && images[0].size(2) % kSizeDivisible == 0)
    return images[0].unsqueeze(0);  // nothing to pad
  int64_t h = 0, w = 0;
  for (const torch::Tensor& im : images) {
    h = std::max(h, im.size(1));
    w = std::max(w, im.size(2));
  }
  h = padded_size(h);
  w = padded_size(w);
  torch::Tensor batch = torch::zeros({static_cast<int64_t>(images.size()), 3, h, w}, images.at(0).options());
  for (size_t i = 0; i < images.size(); ++i)
    batch[i].slice(1, 0, images[i].size(1)).slice(2, 0, images[i].size(2)).copy_(images[i]);
  return batch;
}

torch::Tensor rescale_boxes(const torch::Tensor& boxes, std::pair<int64_t, int64_t> from, std::pair<int64_t, int64_t> to) {
  // Ratios as float32 divisions of the sizes, then one multiply per coordinate.
  const float ratio_h = static_cast<float>(to.first) / static_cast<float>(from.first);
  const float ratio_w = static_cast<float>(to.second) / static_cast<float>(from.second);
  const torch::Tensor ratios = torch::tensor({ratio_w, ratio_h, ratio_w, ratio_h}, torch::kFloat32).to(boxes.device());
  return boxes * ratios;
}

}  // namespace retinanet
