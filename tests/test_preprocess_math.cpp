// The per-pixel math the `preprocess` kernel shares with the host (common/preprocess_math.h), run on the host:
// colour conversion against OpenCV's cvtColor, and the whole pre-processing against the LibTorch path
// (ToTensor, normalise, F::interpolate bilinear, pad), which follows torchvision's GeneralizedRCNNTransform.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <opencv2/imgproc.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "common/preprocess_math.h"
#include "model/inference/transform.h"

namespace retinanet {
namespace {

// A random frame of a given format with padded rows, owning its bytes.
struct TestFrame {
  std::vector<uint8_t> bytes[3];
  ImageView view;

  TestFrame(PixelFormat format, int width, int height, std::mt19937& rng) {
    std::uniform_int_distribution<int> byte(0, 255);
    view.format = format;
    view.width = width;
    view.height = height;
    const bool yuv = format == PixelFormat::kI420 || format == PixelFormat::kNV12;
    const int planes = format == PixelFormat::kI420 ? 3 : (format == PixelFormat::kNV12 ? 2 : 1);
    for (int p = 0; p < planes; ++p) {
      // Chroma planes of odd-sized frames hold ceil(W/2) x ceil(H/2) samples, as GStreamer lays them out.
      const int chroma_w = (width + 1) / 2, chroma_h = (height + 1) / 2;
      const int row_bytes = !yuv ? width * packed_pixel_bytes(format)
                                 : (p == 0 ? width : (format == PixelFormat::kNV12 ? 2 * chroma_w : chroma_w));
      const int rows = p == 0 ? height : chroma_h;
      view.strides[p] = row_bytes + 5 + p;  // odd padding, to catch stride mistakes
      bytes[p].resize(view.strides[p] * rows);
      for (auto& b : bytes[p]) b = static_cast<uint8_t>(byte(rng));
      view.planes[p] = bytes[p].data();
    }
  }
};

TEST(PreprocessMath, YuvEqualsOpenCv) {
  std::mt19937 rng(7);
  for (PixelFormat format : {PixelFormat::kI420, PixelFormat::kNV12})
    for (auto [w, h] : {std::pair{64, 48}, std::pair{34, 18}, std::pair{2, 2}, std::pair{33, 17}, std::pair{7, 2},
                        std::pair{2, 9}, std::pair{1, 1}}) {
      TestFrame frame(format, w, h, rng);
      const cv::Mat ref = yuv_to_rgb(frame.view);
      int mismatches = 0;
      for (int row = 0; row < h; ++row)
        for (int col = 0; col < w; ++col) {
          uint8_t rgb[3];
          load_rgb(frame.view, row, col, rgb);
          const uint8_t* r = ref.ptr<uint8_t>(row) + 3 * col;
          mismatches += rgb[0] != r[0] || rgb[1] != r[1] || rgb[2] != r[2];
        }
      EXPECT_EQ(mismatches, 0) << pixel_format_name(format) << " " << w << "x" << h;
    }
}

TEST(PreprocessMath, EveryYuvTripletEqualsOpenCv) {
  // Each (Y, U, V) once: a 256 x 2 I420 frame per (U, V), Y running along the row.
  std::vector<uint8_t> y(2 * 256), u(1 * 128), v(1 * 128);
  for (int i = 0; i < 256; ++i) y[i] = y[256 + i] = static_cast<uint8_t>(i);
  int mismatches = 0;
  for (int uu = 0; uu < 256; uu += 3)
    for (int vv = 0; vv < 256; vv += 5) {
      std::fill(u.begin(), u.end(), static_cast<uint8_t>(uu));
      std::fill(v.begin(), v.end(), static_cast<uint8_t>(vv));
      ImageView im;
      im.format = PixelFormat::kI420;
      im.width = 256;
      im.height = 2;
      im.planes[0] = y.data();
      im.planes[1] = u.data();
      im.planes[2] = v.data();
      im.strides[0] = 256;
      im.strides[1] = im.strides[2] = 128;
      const cv::Mat ref = yuv_to_rgb(im);
      for (int col = 0; col < 256; ++col) {
        uint8_t rgb[3];
        load_rgb(im, 0, col, rgb);
        const uint8_t* r = ref.ptr<uint8_t>(0) + 3 * col;
        mismatches += rgb[0] != r[0] || rgb[1] != r[1] || rgb[2] != r[2];
      }
    }
  EXPECT_EQ(mismatches, 0);
}

TEST(PreprocessMath, HostTwinEqualsTorchTransform) {
  std::mt19937 rng(11);
  const std::vector<float> mean = {0.485f, 0.456f, 0.406f}, std = {0.229f, 0.224f, 0.225f};
  struct Case {
    int w, h, min_size, max_size;
  };
  // Downscaling, upscaling, a non-integer ratio and a max_size-bound frame.
  const std::vector<Case> cases = {{160, 120, 64, 100}, {50, 38, 96, 200}, {97, 61, 80, 133}, {200, 40, 80, 120}};
  for (PixelFormat format : {PixelFormat::kRGB, PixelFormat::kBGR, PixelFormat::kRGBA, PixelFormat::kBGRA,
                             PixelFormat::kRGBx, PixelFormat::kBGRx, PixelFormat::kI420, PixelFormat::kNV12})
    for (const Case& c : cases) {
      const int w = c.w, h = c.h;  // odd sizes too, in every format
      TestFrame frame(format, w, h, rng);
      const torch::Tensor ref =
          pad_batch({normalize_and_resize(image_to_tensor(frame.view), mean, std, c.min_size, c.max_size)})[0];
      PreprocessParams p;
      const auto [rh, rw] = resized_size(h, w, c.min_size, c.max_size);
      p.resized_h = static_cast<int>(rh);
      p.resized_w = static_cast<int>(rw);
      p.padded_h = static_cast<int>(ref.size(1));
      p.padded_w = static_cast<int>(ref.size(2));
      for (int i = 0; i < 3; ++i) {
        p.mean[i] = mean[i];
        p.std[i] = std[i];
      }
      std::vector<float> ours = preprocess_host(frame.view, p);
      const torch::Tensor t = torch::from_blob(ours.data(), {3, p.padded_h, p.padded_w}, torch::kFloat32);
      const float max_diff = (t - ref).abs().max().item<float>();
      EXPECT_LE(max_diff, 1e-5f) << pixel_format_name(format) << " " << w << "x" << h << " -> " << rw << "x" << rh;
      // The padding is exactly zero.
      EXPECT_EQ(t.slice(1, p.resized_h).abs().sum().item<float>(), 0.f);
      EXPECT_EQ(t.slice(2, p.resized_w).abs().sum().item<float>(), 0.f);
    }
}

TEST(PreprocessMath, LinearTapsStayInside) {
  for (int in : {1, 2, 3, 17, 640})
    for (int out : {1, 2, 5, 32, 800}) {
      for (int d = 0; d < out; ++d) {
        const LinearTaps t = linear_taps(in, out, d);
        ASSERT_GE(t.i0, 0);
        ASSERT_LT(t.i1, in);
        ASSERT_LE(t.i0, t.i1);
        ASSERT_NEAR(t.w0 + t.w1, 1.f, 1e-6f);
      }
    }
}

}  // namespace
}  // namespace retinanet
