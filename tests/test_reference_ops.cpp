// Anchors, box decoding, NMS and the resize arithmetic against torchvision's answers on random inputs
// (tests/make_fixtures.py writes them at build time).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <map>

#include "common/box_math.h"
#include "model/inference/anchors.h"
#include "model/inference/nms.h"
#include "model/files/safetensors.h"
#include "model/inference/transform.h"

namespace retinanet {
namespace {

class ReferenceOps : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* path = std::getenv("RETINANET_FIXTURES");
    ASSERT_NE(path, nullptr) << "RETINANET_FIXTURES is not set (run through meson test)";
    file_ = new TensorFile(read_safetensors(path));
    for (auto& [name, t] : file_->tensors) tensors_[name] = t;
  }
  static void TearDownTestSuite() {
    delete file_;
    file_ = nullptr;
  }
  static const torch::Tensor& get(const std::string& name) {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw std::runtime_error("fixture tensor missing: " + name);
    return it->second;
  }
  static TensorFile* file_;
  static std::map<std::string, torch::Tensor> tensors_;
};
TensorFile* ReferenceOps::file_ = nullptr;
std::map<std::string, torch::Tensor> ReferenceOps::tensors_;

TEST_F(ReferenceOps, AnchorsEqualAnchorGenerator) {
  const auto generators = nlohmann::json::parse(file_->metadata.at("anchor_generators"));
  const auto cases = nlohmann::json::parse(file_->metadata.at("anchor_cases"));
  for (auto& [name, spec] : generators.items()) {
    ModelConfig config;
    config.anchor_sizes = spec[0].get<std::vector<std::vector<float>>>();
    config.aspect_ratios = spec[1].get<std::vector<float>>();
    const auto cells = make_cell_anchors(config);
    for (const auto& c : cases) {
      const int64_t h = c[0], w = c[1];
      std::vector<std::pair<int64_t, int64_t>> grids;
      for (int64_t s : {8, 16, 32, 64, 128}) grids.emplace_back((h + s - 1) / s, (w + s - 1) / s);
      const torch::Tensor ours = torch::cat(make_grid_anchors(cells, h, w, grids));
      const torch::Tensor& theirs = get("anchors." + name + "." + std::to_string(h) + "x" + std::to_string(w));
      ASSERT_EQ(ours.sizes(), theirs.sizes()) << name << " " << h << "x" << w;
      EXPECT_TRUE(torch::equal(ours, theirs)) << name << " " << h << "x" << w;
    }
  }
}

TEST_F(ReferenceOps, DecodeEqualsBoxCoder) {
  const torch::Tensor anchors = get("decode.anchors").contiguous();
  const torch::Tensor deltas = get("decode.deltas").contiguous();
  const torch::Tensor expected = get("decode.boxes");
  const auto* a = reinterpret_cast<const Box*>(anchors.data_ptr<float>());
  torch::Tensor ours = torch::empty_like(expected);
  auto* out = reinterpret_cast<Box*>(ours.data_ptr<float>());
  for (int64_t i = 0; i < anchors.size(0); ++i) out[i] = decode_box(deltas.data_ptr<float>() + 4 * i, a[i]);
  // expf and torch.exp may differ in the last bit; everything else is the same float arithmetic.
  EXPECT_TRUE(torch::allclose(ours, expected, 1e-6, 1e-3)) << (ours - expected).abs().max().item<float>();
  // The clamp of dw/dh at log(1000/16) was exercised.
  EXPECT_GT((deltas.slice(1, 2).abs() > kBoxXformClip).sum().item<int64_t>(), 0);
}

TEST_F(ReferenceOps, NmsEqualsTorchvision) {
  for (const std::string tag : {"small", "large"}) {
    const torch::Tensor boxes = get("nms." + tag + ".boxes");
    const torch::Tensor scores = get("nms." + tag + ".scores");
    const torch::Tensor labels = get("nms." + tag + ".labels").to(torch::kInt64);
    const torch::Tensor keep = nms(boxes, scores, 0.5);
    EXPECT_TRUE(torch::equal(keep, get("nms." + tag + ".keep").to(torch::kInt64))) << tag;
    EXPECT_LT(keep.size(0), boxes.size(0)) << "the fixture should suppress something";
    // The small set uses torchvision's coordinate-offset strategy, the large one per-label NMS.
    const torch::Tensor batched = batched_nms(boxes, scores, labels, 0.45);
    EXPECT_TRUE(torch::equal(batched, get("nms." + tag + ".batched_keep").to(torch::kInt64))) << tag;
  }
}

TEST_F(ReferenceOps, ResizedSizeEqualsTorchvision) {
  const torch::Tensor cases = get("resize.cases").to(torch::kInt64);
  for (int64_t i = 0; i < cases.size(0); ++i) {
    auto c = [&](int k) { return cases[i][k].item<int64_t>(); };
    const auto [h, w] = resized_size(c(0), c(1), static_cast<int>(c(2)), static_cast<int>(c(3)));
    EXPECT_EQ(h, c(4)) << c(0) << "x" << c(1) << " min " << c(2) << " max " << c(3);
    EXPECT_EQ(w, c(5)) << c(0) << "x" << c(1) << " min " << c(2) << " max " << c(3);
  }
}

TEST(BoxMath, IouAndClip) {
  const Box a{0, 0, 10, 10}, b{5, 0, 15, 10};
  EXPECT_FLOAT_EQ(box_iou(a, box_area(a), b, box_area(b)), 50.f / 150.f);
  const Box c = clip_box(Box{-3, 4, 700, 900}, 640, 480);
  EXPECT_EQ(c.x1, 0);
  EXPECT_EQ(c.x2, 640);
  EXPECT_EQ(c.y2, 480);
}

}  // namespace
}  // namespace retinanet
