// The kernels in cuda/ on a GPU against their host twins and the CPU path; every test skips, saying why, when the
// machine has no CUDA device.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/box_math.h"
#include "cuda/candidates.h"
#include "cuda/cuda_check.h"
#include "cuda/decode_boxes.h"
#include "cuda/gather_detections.h"
#include "cuda/nms.h"
#include "cuda/preprocess.h"
#include "model/inference/anchors.h"
#include "model/files/config.h"
#include "model/inference/nms.h"

namespace retinanet {
namespace {

// Device memory for `count` elements of T, freed on scope exit.
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count) {
    RETINANET_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&data_), sizeof(T) * (count ? count : 1)));
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) {
    RETINANET_CUDA_CHECK(cudaMemcpy(data_, host.data(), sizeof(T) * count_, cudaMemcpyHostToDevice));
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return data_; }
  std::vector<T> download(size_t count) const {
    std::vector<T> host(count);
    RETINANET_CUDA_CHECK(cudaMemcpy(host.data(), data_, sizeof(T) * count, cudaMemcpyDeviceToHost));
    return host;
  }
  std::vector<T> download() const { return download(count_); }

 private:
  T* data_ = nullptr;
  size_t count_;
};

// Why the kernels cannot run here, or empty when there is a CUDA device.
std::string no_device_reason() {
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess) return std::string("no CUDA device (") + cudaGetErrorString(status) + ")";
  if (devices == 0) return "no CUDA device";
  return "";
}

class CudaKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string reason = no_device_reason();
    if (!reason.empty()) GTEST_SKIP() << reason << ": the kernels are not run here";
  }
};

TEST_F(CudaKernels, PreprocessEqualsHostTwin) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> byte(0, 255);
  for (PixelFormat format : {PixelFormat::kRGB, PixelFormat::kBGR, PixelFormat::kRGBA, PixelFormat::kBGRA,
                             PixelFormat::kRGBx, PixelFormat::kBGRx, PixelFormat::kI420, PixelFormat::kNV12}) {
    const int w = 134, h = 76;
    const bool yuv = format == PixelFormat::kI420 || format == PixelFormat::kNV12;
    const int planes = format == PixelFormat::kI420 ? 3 : (format == PixelFormat::kNV12 ? 2 : 1);
    ImageView host_view, device_view;
    host_view.format = device_view.format = format;
    host_view.width = device_view.width = w;
    host_view.height = device_view.height = h;
    std::vector<std::vector<uint8_t>> host(planes);
    std::vector<std::unique_ptr<DeviceBuffer<uint8_t>>> device;
    for (int p = 0; p < planes; ++p) {
      const int row = !yuv ? w * packed_pixel_bytes(format) : (p == 0 || format == PixelFormat::kNV12 ? w : w / 2);
      const int rows = p == 0 ? h : h / 2;
      host_view.strides[p] = device_view.strides[p] = row + 3;
      host[p].resize(host_view.strides[p] * rows);
      for (auto& b : host[p]) b = static_cast<uint8_t>(byte(rng));
      device.push_back(std::make_unique<DeviceBuffer<uint8_t>>(host[p]));
      host_view.planes[p] = host[p].data();
      device_view.planes[p] = device.back()->get();
    }
    for (auto [rh, rw] : {std::pair{40, 70}, std::pair{150, 265}}) {
      PreprocessParams params;
      params.resized_h = rh;
      params.resized_w = rw;
      params.padded_h = (rh + 31) / 32 * 32;
      params.padded_w = (rw + 31) / 32 * 32;
      const std::vector<float> expected = preprocess_host(host_view, params);
      DeviceBuffer<float> out(expected.size());
      preprocess(device_view, params, out.get(), InputType::kFloat32, nullptr);
      RETINANET_CUDA_CHECK(cudaDeviceSynchronize());
      const std::vector<float> got = out.download();
      size_t mismatches = 0;
      for (size_t i = 0; i < got.size(); ++i) mismatches += got[i] != expected[i];
      EXPECT_EQ(mismatches, 0u) << pixel_format_name(format) << " -> " << rw << "x" << rh;
      // float16: the same values rounded as torch rounds them.
      DeviceBuffer<uint16_t> half_out(expected.size());
      preprocess(device_view, params, half_out.get(), InputType::kFloat16, nullptr);
      RETINANET_CUDA_CHECK(cudaDeviceSynchronize());
      std::vector<float> expected_copy = expected;
      const torch::Tensor expected_half =
          torch::from_blob(expected_copy.data(), {static_cast<int64_t>(expected.size())}, torch::kFloat32).to(torch::kHalf);
      std::vector<uint16_t> got_half = half_out.download();
      const torch::Tensor got_half_t =
          torch::from_blob(got_half.data(), {static_cast<int64_t>(got_half.size())}, torch::kHalf);
      EXPECT_TRUE(torch::equal(got_half_t, expected_half)) << pixel_format_name(format) << " float16";
    }
  }
}

TEST_F(CudaKernels, DecodeBoxesEqualsHostPath) {
  ModelConfig config;
  const auto cells = make_cell_anchors(config);
  const int64_t image_h = 320, image_w = 480;
  std::vector<std::pair<int64_t, int64_t>> grids;
  for (int64_t s : {8, 16, 32, 64, 128}) grids.emplace_back(image_h / s, image_w / s);
  const auto anchors = make_grid_anchors(cells, image_h, image_w, grids);
  torch::manual_seed(5);
  for (size_t l = 0; l < grids.size(); ++l) {
    const int64_t total = anchors[l].size(0);
    const torch::Tensor deltas = torch::randn({total, 4}) * 2;  // some dw, dh past the clamp
    const torch::Tensor idx = torch::randperm(total, torch::kInt64).slice(0, 0, std::min<int64_t>(total, 500));
    const int count = static_cast<int>(idx.size(0));
    std::vector<float> expected(4 * count);
    const auto* a = reinterpret_cast<const Box*>(anchors[l].data_ptr<float>());
    for (int i = 0; i < count; ++i) {
      const int64_t k = idx[i].item<int64_t>();
      const Box b = clip_box(decode_box(deltas.data_ptr<float>() + 4 * k, a[k]), image_w, image_h);
      expected[4 * i] = b.x1, expected[4 * i + 1] = b.y1, expected[4 * i + 2] = b.x2, expected[4 * i + 3] = b.y2;
    }
    DeviceBuffer<float> d_deltas(std::vector<float>(deltas.data_ptr<float>(), deltas.data_ptr<float>() + 4 * total));
    DeviceBuffer<int64_t> d_idx(std::vector<int64_t>(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + count));
    const torch::Tensor cell = cells[l].contiguous();
    DeviceBuffer<float> d_cell(std::vector<float>(cell.data_ptr<float>(), cell.data_ptr<float>() + cell.numel()));
    DeviceBuffer<float> d_boxes(4 * count);
    LevelGrid grid;
    grid.grid_w = static_cast<int>(grids[l].second);
    grid.stride_h = static_cast<int>(image_h / grids[l].first);
    grid.stride_w = static_cast<int>(image_w / grids[l].second);
    grid.num_anchors = static_cast<int>(cell.size(0));
    decode_boxes(d_deltas.get(), d_idx.get(), count, d_cell.get(), grid, image_w, image_h, d_boxes.get(), nullptr);
    RETINANET_CUDA_CHECK(cudaDeviceSynchronize());
    const std::vector<float> got = d_boxes.download();
    // expf may differ from the host's by an ulp.
    for (int i = 0; i < 4 * count; ++i) ASSERT_NEAR(got[i], expected[i], 1e-3f) << "level " << l << " value " << i;
  }
}

TEST_F(CudaKernels, SelectCandidatesEqualsTorch) {
  torch::manual_seed(21);
  const int num_classes = 7, topk = 300;
  for (int64_t anchors : {10, 2000, 30000}) {
    const torch::Tensor logits = torch::randn({anchors * num_classes}) * 2 - 3;
    const float score_thresh = 0.05f;
    // postprocess_detections per level: sigmoid, threshold, topk.
    const torch::Tensor all_scores = torch::sigmoid(logits);
    const torch::Tensor idx = torch::nonzero(all_scores > score_thresh).squeeze(1);
    const auto [top_scores, order] = all_scores.index({idx}).topk(std::min<int64_t>(topk, idx.size(0)));
    const torch::Tensor flat = idx.index({order});
    const int64_t n = logits.numel();
    DeviceBuffer<float> d_logits(std::vector<float>(logits.data_ptr<float>(), logits.data_ptr<float>() + n));
    const size_t bytes = select_candidates_workspace_size(n);
    DeviceBuffer<uint8_t> workspace(bytes);
    DeviceBuffer<int64_t> anchor_idx(topk), labels(topk);
    DeviceBuffer<float> scores(topk);
    DeviceBuffer<int> count(1);
    select_candidates(d_logits.get(), n, num_classes, score_thresh, topk, workspace.get(), bytes, anchor_idx.get(),
                      labels.get(), scores.get(), count.get(), nullptr);
    RETINANET_CUDA_CHECK(cudaDeviceSynchronize());
    const int got_count = count.download()[0];
    ASSERT_EQ(got_count, flat.size(0)) << anchors << " anchors";
    const auto got_anchor = anchor_idx.download(got_count), got_label = labels.download(got_count);
    const auto got_score = scores.download(got_count);
    for (int i = 0; i < got_count; ++i) {
      const int64_t f = flat[i].item<int64_t>();
      EXPECT_EQ(got_anchor[i], f / num_classes) << "rank " << i;
      EXPECT_EQ(got_label[i], f % num_classes) << "rank " << i;
      EXPECT_NEAR(got_score[i], top_scores[i].item<float>(), 1e-6f) << "rank " << i;
    }
    const auto all_scores_out = scores.download();
    for (int i = got_count; i < topk; ++i) EXPECT_EQ(all_scores_out[i], -INFINITY) << "padding " << i;
  }
}

TEST_F(CudaKernels, GatherDetectionsPacksKeptBoxes) {
  torch::manual_seed(23);
  const int n = 500, max_detections = 100;
  const torch::Tensor boxes = (torch::rand({n, 4}) * 600).contiguous();
  const torch::Tensor scores = torch::rand({n});
  const torch::Tensor labels = torch::randint(0, 91, {n}, torch::kInt64);
  const torch::Tensor keep = torch::randperm(n, torch::kInt64).slice(0, 0, 150).contiguous();
  const int num_keep = 150;
  const float ratio_w = 640.f / 1066.f, ratio_h = 480.f / 800.f;
  DeviceBuffer<float> d_boxes(std::vector<float>(boxes.data_ptr<float>(), boxes.data_ptr<float>() + 4 * n));
  DeviceBuffer<float> d_scores(std::vector<float>(scores.data_ptr<float>(), scores.data_ptr<float>() + n));
  DeviceBuffer<int64_t> d_labels(std::vector<int64_t>(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + n));
  DeviceBuffer<int64_t> d_keep(std::vector<int64_t>(keep.data_ptr<int64_t>(), keep.data_ptr<int64_t>() + num_keep));
  DeviceBuffer<int> d_num_keep(std::vector<int>{num_keep});
  DeviceBuffer<uint8_t> out(detections_buffer_bytes(max_detections));
  gather_detections(d_keep.get(), d_num_keep.get(), d_boxes.get(), d_scores.get(), d_labels.get(), max_detections,
                    ratio_w, ratio_h, out.get(), nullptr);
  RETINANET_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<uint8_t> bytes = out.download();
  int32_t count = 0;
  std::memcpy(&count, bytes.data(), sizeof(count));
  ASSERT_EQ(count, max_detections);
  const auto* in = reinterpret_cast<const Box*>(boxes.data_ptr<float>());
  for (int i = 0; i < count; ++i) {
    DetectionRecord r;
    std::memcpy(&r, bytes.data() + kDetectionsHeaderBytes + i * sizeof(DetectionRecord), sizeof(r));
    const int64_t j = keep[i].item<int64_t>();
    const Box b = rescale_box(in[j], ratio_w, ratio_h);
    EXPECT_TRUE(r.x1 == b.x1 && r.y1 == b.y1 && r.x2 == b.x2 && r.y2 == b.y2) << "detection " << i;
    EXPECT_EQ(r.score, scores[j].item<float>());
    EXPECT_EQ(r.label, labels[j].item<int64_t>());
  }
}

TEST_F(CudaKernels, BatchedNmsEqualsHostPath) {
  torch::manual_seed(9);
  for (int n : {1, 63, 64, 65, 300, 1000}) {
    const torch::Tensor xy = torch::rand({n, 2}) * 200;
    const torch::Tensor boxes = torch::cat({xy, xy + torch::rand({n, 2}) * 60 + 1}, 1).contiguous();
    // Some equal scores, to check the stable order.
    const torch::Tensor scores = (torch::rand({n}) * 50).floor() / 50;
    const torch::Tensor labels = torch::randint(0, 4, {n}, torch::kInt64);
    const torch::Tensor expected = batched_nms(boxes, scores, labels, 0.5);
    DeviceBuffer<float> d_boxes(std::vector<float>(boxes.data_ptr<float>(), boxes.data_ptr<float>() + 4 * n));
    DeviceBuffer<float> d_scores(std::vector<float>(scores.data_ptr<float>(), scores.data_ptr<float>() + n));
    DeviceBuffer<int64_t> d_labels(std::vector<int64_t>(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + n));
    const size_t bytes = batched_nms_workspace_size(n);
    DeviceBuffer<uint8_t> workspace(bytes);
    DeviceBuffer<int64_t> keep(n);
    DeviceBuffer<int> num_keep(1);
    batched_nms(d_boxes.get(), d_scores.get(), d_labels.get(), n, 0.5, workspace.get(), bytes, keep.get(),
                num_keep.get(), nullptr);
    RETINANET_CUDA_CHECK(cudaDeviceSynchronize());
    const int count = num_keep.download()[0];
    const std::vector<int64_t> got = keep.download(count);
    ASSERT_EQ(count, expected.size(0)) << n << " boxes";
    for (int i = 0; i < count; ++i) EXPECT_EQ(got[i], expected[i].item<int64_t>()) << n << " boxes, rank " << i;

    // Padding entries (score -infinity, far-away boxes) change nothing.
    const int padded = n + 37;
    const torch::Tensor pad_boxes = torch::cat({boxes, torch::full({37, 4}, 5000.f)}).contiguous();
    const torch::Tensor pad_scores = torch::cat({scores, torch::full({37}, -INFINITY)}).contiguous();
    const torch::Tensor pad_labels = torch::cat({labels, torch::full({37}, 9, torch::kInt64)}).contiguous();
    DeviceBuffer<float> p_boxes(std::vector<float>(pad_boxes.data_ptr<float>(), pad_boxes.data_ptr<float>() + 4 * padded));
    DeviceBuffer<float> p_scores(std::vector<float>(pad_scores.data_ptr<float>(), pad_scores.data_ptr<float>() + padded));
    DeviceBuffer<int64_t> p_labels(
        std::vector<int64_t>(pad_labels.data_ptr<int64_t>(), pad_labels.data_ptr<int64_t>() + padded));
    const size_t p_bytes = batched_nms_workspace_size(padded);
    DeviceBuffer<uint8_t> p_workspace(p_bytes);
    DeviceBuffer<int64_t> p_keep(padded);
    batched_nms(p_boxes.get(), p_scores.get(), p_labels.get(), padded, 0.5, p_workspace.get(), p_bytes, p_keep.get(),
                num_keep.get(), nullptr);
    RETINANET_CUDA_CHECK(cudaDeviceSynchronize());
    ASSERT_EQ(num_keep.download()[0], count) << n << " boxes + padding";
    EXPECT_EQ(p_keep.download(count), got) << n << " boxes + padding";
  }
}

}  // namespace
}  // namespace retinanet

// Reports a run without a device to meson as skipped (exit status 77) rather than passed.
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int result = RUN_ALL_TESTS();
  return result == 0 && !retinanet::no_device_reason().empty() ? 77 : result;
}
