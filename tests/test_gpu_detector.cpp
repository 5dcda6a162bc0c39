// The whole detector on a GPU against the CPU path: the embedded default model on synthetic scenes, every pixel
// format, even and odd sizes, float32 (same detections, scores within 1e-3) and float16 (the confident ones).
// Every test skips, saying why, where there is no CUDA device; the binary then exits 77 (SKIP for meson).
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <opencv2/imgproc.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "model/files/model_source.h"
#include "model/inference/detector.h"
#include "model/training/synthetic_scene.h"
#include "tests/detection_match.h"

namespace retinanet {
namespace {

std::string no_gpu_reason() {
  if (!torch::cuda::is_available()) return "no CUDA device (or this LibTorch has no CUDA)";
  if (!has_default_model()) return "this build embeds no default model";
  return "";
}

// A frame in `format` with its own storage, rows padded past the pixels (strides wider than the width).
struct Frame {
  std::vector<std::vector<uint8_t>> planes;
  ImageView view;
};

Frame make_frame(const cv::Mat& bgr, PixelFormat format) {
  Frame f;
  f.view.format = format;
  f.view.width = bgr.cols;
  f.view.height = bgr.rows;
  auto add_plane = [&](const cv::Mat& m, int row_bytes, int rows) {
    const size_t stride = static_cast<size_t>(row_bytes) + 12;
    f.planes.emplace_back(stride * rows, uint8_t{0});
    for (int r = 0; r < rows; ++r) std::memcpy(f.planes.back().data() + r * stride, m.ptr(r), row_bytes);
    f.view.planes[f.planes.size() - 1] = f.planes.back().data();
    f.view.strides[f.planes.size() - 1] = stride;
  };
  const int w = bgr.cols, h = bgr.rows;
  cv::Mat m;
  switch (format) {
    case PixelFormat::kRGB: cv::cvtColor(bgr, m, cv::COLOR_BGR2RGB); add_plane(m, 3 * w, h); break;
    case PixelFormat::kBGR: add_plane(bgr, 3 * w, h); break;
    case PixelFormat::kRGBA:
    case PixelFormat::kRGBx: cv::cvtColor(bgr, m, cv::COLOR_BGR2RGBA); add_plane(m, 4 * w, h); break;
    case PixelFormat::kBGRA:
    case PixelFormat::kBGRx: cv::cvtColor(bgr, m, cv::COLOR_BGR2BGRA); add_plane(m, 4 * w, h); break;
    case PixelFormat::kI420:
    case PixelFormat::kNV12: {
      // An odd-sized frame is converted with its last row and column repeated: its chroma planes then hold
      // ceil(W/2) x ceil(H/2) samples, GStreamer's layout.
      const int ew = w + (w & 1), eh = h + (h & 1), cw = ew / 2, ch = eh / 2;
      cv::Mat even;
      cv::copyMakeBorder(bgr, even, 0, eh - h, 0, ew - w, cv::BORDER_REPLICATE);
      cv::cvtColor(even, m, cv::COLOR_BGR2YUV_I420);  // [eh * 3 / 2, ew]: Y, then U and V of cw x ch each
      add_plane(m.rowRange(0, h), w, h);
      const uint8_t* u = m.ptr(eh);
      const uint8_t* v = u + cw * ch;
      if (format == PixelFormat::kI420) {
        add_plane(cv::Mat(ch, cw, CV_8UC1, const_cast<uint8_t*>(u)), cw, ch);
        add_plane(cv::Mat(ch, cw, CV_8UC1, const_cast<uint8_t*>(v)), cw, ch);
      } else {
        cv::Mat uv(ch, cw, CV_8UC2);
        for (int i = 0; i < cw * ch; ++i) {
          uv.data[2 * i] = u[i];
          uv.data[2 * i + 1] = v[i];
        }
        add_plane(uv, 2 * cw, ch);
      }
      break;
    }
  }
  return f;
}

using testing::unmatched;

class GpuPath : public ::testing::TestWithParam<PixelFormat> {
 protected:
  void SetUp() override {
    const std::string reason = no_gpu_reason();
    if (!reason.empty()) GTEST_SKIP() << reason << ": the GPU path is not run here";
  }
  static Detector& detector(const std::string& device, bool half) {
    static std::map<std::pair<std::string, bool>, std::unique_ptr<Detector>> cache;
    auto& d = cache[{device, half}];
    if (!d) {
      DetectorOptions o;
      o.device = device;
      o.half = half;
      d = std::make_unique<Detector>(o);
    }
    return *d;
  }
};

// The CPU's detections are the GPU's: the threshold's neighbourhood aside (a score within 1e-3 of it may fall on
// either side), every detection on one side has its match on the other, same label, score within 1e-3, same box.
TEST_P(GpuPath, Float32EqualsTheCpuPath) {
  Detector& cpu = detector("cpu", false);
  Detector& gpu = detector("cuda", false);
  EXPECT_EQ(gpu.device(), "cuda:0");
  const float edge = cpu.config().score_thresh + 1e-3f;
  for (const auto& [w, h, seed] : std::vector<std::tuple<int, int, int>>{{640, 480, 11}, {638, 358, 12}, {480, 640, 13}, {641, 359, 14}}) {
    SceneOptions so;
    so.width = w;
    so.height = h;
    const Scene scene = SceneGenerator(so).generate(seed);
    const Frame frame = make_frame(scene.bgr, GetParam());
    const std::vector<Detection> expected = cpu.detect(frame.view);
    const std::vector<Detection> actual = gpu.detect(frame.view);
    SCOPED_TRACE(std::to_string(w) + "x" + std::to_string(h));
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(unmatched(expected, actual, edge, 1e-3f, 0.99f), "") << "CPU detections the GPU lacks";
    EXPECT_EQ(unmatched(actual, expected, edge, 1e-3f, 0.99f), "") << "GPU detections the CPU lacks";
    EXPECT_TRUE(std::is_sorted(actual.begin(), actual.end(),
                               [](const Detection& a, const Detection& b) { return a.score > b.score; }));
  }
}

// float16: the confident detections survive, with their labels and boxes.
TEST_P(GpuPath, Float16KeepsTheConfidentDetections) {
  Detector& cpu = detector("cpu", false);
  Detector& gpu = detector("cuda", true);
  const Scene scene = SceneGenerator().generate(21);
  const Frame frame = make_frame(scene.bgr, GetParam());
  const std::vector<Detection> expected = cpu.detect(frame.view);
  const std::vector<Detection> actual = gpu.detect(frame.view);
  ASSERT_FALSE(expected.empty()) << "the scene should have confident detections";
  EXPECT_EQ(unmatched(expected, actual, 0.5f, 0.05f, 0.9f), "") << "CPU detections the float16 GPU path lacks";
  EXPECT_EQ(unmatched(actual, expected, 0.5f, 0.05f, 0.9f), "") << "float16 GPU detections the CPU path lacks";
}

INSTANTIATE_TEST_SUITE_P(AllFormats, GpuPath,
                         ::testing::Values(PixelFormat::kRGB, PixelFormat::kBGR, PixelFormat::kRGBA, PixelFormat::kBGRA,
                                           PixelFormat::kRGBx, PixelFormat::kBGRx, PixelFormat::kI420,
                                           PixelFormat::kNV12),
                         [](const ::testing::TestParamInfo<PixelFormat>& info) {
                           return std::string(pixel_format_name(info.param));
                         });

// A GPU detector takes frames of changing sizes one after the other (buffers grow, anchors follow the size).
TEST(GpuPathStream, ChangingSizesAndEmptyFrames) {
  const std::string reason = no_gpu_reason();
  if (!reason.empty()) GTEST_SKIP() << reason << ": the GPU path is not run here";
  DetectorOptions o;
  o.device = "cuda:0";
  Detector gpu(o);
  o.device = "cpu";
  Detector cpu(o);
  for (int size : {320, 1280, 200}) {
    SceneOptions so;
    so.width = size;
    so.height = size * 3 / 4;
    const Frame frame = make_frame(SceneGenerator(so).generate(size).bgr, PixelFormat::kBGR);
    const float edge = cpu.config().score_thresh + 1e-3f;
    const auto expected = cpu.detect(frame.view);
    const auto actual = gpu.detect(frame.view);
    EXPECT_EQ(unmatched(expected, actual, edge, 1e-3f, 0.99f), "") << size;
  }
  // A blank frame: no detections, and none left over from the frame before.
  const cv::Mat blank(480, 640, CV_8UC3, cv::Scalar(128, 128, 128));
  const Frame frame = make_frame(blank, PixelFormat::kBGR);
  ASSERT_TRUE(cpu.detect(frame.view).empty()) << "the default model should see nothing on a flat grey frame";
  const auto on_blank = gpu.detect(frame.view);
  EXPECT_TRUE(on_blank.empty()) << on_blank.size() << " detections, the first scored " << on_blank[0].score;
}

// Detector::set_thresholds between frames reaches the GPU path as it does the CPU path, a raised cap included.
TEST(GpuPathStream, ThresholdsChangeBetweenFrames) {
  const std::string reason = no_gpu_reason();
  if (!reason.empty()) GTEST_SKIP() << reason << ": the GPU path is not run here";
  DetectorOptions o;
  o.device = "cuda";
  o.max_detections = 3;
  Detector gpu(o);
  o.device = "cpu";
  Detector cpu(o);
  const Frame frame = make_frame(SceneGenerator().generate(31).bgr, PixelFormat::kRGB);
  EXPECT_LE(gpu.detect(frame.view).size(), 3u);
  for (const auto& [score, nms, cap] : std::vector<std::tuple<float, float, int>>{{0.3f, 0.3f, 5}, {0.01f, 0.7f, 500}}) {
    gpu.set_thresholds(score, nms, cap);
    cpu.set_thresholds(score, nms, cap);
    const auto expected = cpu.detect(frame.view);
    const auto actual = gpu.detect(frame.view);
    EXPECT_LE(actual.size(), static_cast<size_t>(cap));
    EXPECT_EQ(unmatched(expected, actual, score + 1e-3f, 1e-3f, 0.99f), "") << score << " " << nms << " " << cap;
    EXPECT_EQ(unmatched(actual, expected, score + 1e-3f, 1e-3f, 0.99f), "") << score << " " << nms << " " << cap;
  }
}

// Per-class score thresholds and class-agnostic NMS (Thresholds per frame) reach the GPU path as the CPU path.
TEST(GpuPathStream, PerClassThresholdsAndAgnosticNms) {
  const std::string reason = no_gpu_reason();
  if (!reason.empty()) GTEST_SKIP() << reason << ": the GPU path is not run here";
  DetectorOptions o;
  o.device = "cuda";
  Detector gpu(o);
  o.device = "cpu";
  Detector cpu(o);
  const Frame frame = make_frame(SceneGenerator().generate(32).bgr, PixelFormat::kRGB);
  Thresholds t;
  t.score = 0.02f;
  t.class_score.assign(static_cast<size_t>(cpu.config().num_classes), -1.0f);
  t.class_score[1] = 0.6f;
  for (bool agnostic : {false, true}) {
    t.agnostic_nms = agnostic;
    const auto expected = cpu.detect_batch({frame.view}, {t})[0];
    const auto actual = gpu.detect_batch({frame.view}, {t})[0];
    ASSERT_FALSE(expected.empty());
    for (const Detection& d : actual) EXPECT_GT(d.score, d.label == 1 ? 0.6f : 0.02f) << d.label;
    EXPECT_EQ(unmatched(expected, actual, 0.02f + 1e-3f, 1e-3f, 0.99f), "") << "agnostic " << agnostic;
    EXPECT_EQ(unmatched(actual, expected, 0.02f + 1e-3f, 1e-3f, 0.99f), "") << "agnostic " << agnostic;
  }
}

}  // namespace
}  // namespace retinanet

// Reports a run without a GPU to meson as skipped (exit status 77) rather than passed.
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int result = RUN_ALL_TESTS();
  return result == 0 && !retinanet::no_gpu_reason().empty() ? 77 : result;
}
