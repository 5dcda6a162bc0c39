// The score and box math of the post-processing kernels on the host: sigmoid (common/score_math.h) against
// torch.sigmoid, rescale_box (common/box_math.h, used by gather_detections) against transform's rescale_boxes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/box_math.h"
#include "common/score_math.h"
#include "model/inference/transform.h"

namespace retinanet {
namespace {

TEST(CandidatesMath, SigmoidMatchesTorch) {
  torch::manual_seed(13);
  const torch::Tensor logits = torch::randn({100000}) * 6;
  const torch::Tensor expected = torch::sigmoid(logits);
  const float* x = logits.data_ptr<float>();
  const float* e = expected.data_ptr<float>();
  float max_diff = 0.f;
  for (int64_t i = 0; i < logits.numel(); ++i) max_diff = std::max(max_diff, std::abs(sigmoid(x[i]) - e[i]));
  EXPECT_LE(max_diff, 1e-6f);
}

TEST(CandidatesMath, RescaleBoxEqualsTransform) {
  torch::manual_seed(17);
  const torch::Tensor boxes = (torch::rand({200, 4}) * 800).contiguous();
  for (auto [from, to] : {std::pair{std::pair<int64_t, int64_t>{800, 1066}, std::pair<int64_t, int64_t>{480, 640}},
                          std::pair{std::pair<int64_t, int64_t>{512, 911}, std::pair<int64_t, int64_t>{1080, 1920}}}) {
    const torch::Tensor expected = rescale_boxes(boxes, from, to).contiguous();
    const float ratio_h = static_cast<float>(to.first) / static_cast<float>(from.first);
    const float ratio_w = static_cast<float>(to.second) / static_cast<float>(from.second);
    const auto* in = reinterpret_cast<const Box*>(boxes.data_ptr<float>());
    const auto* e = reinterpret_cast<const Box*>(expected.data_ptr<float>());
    for (int i = 0; i < 200; ++i) {
      const Box b = rescale_box(in[i], ratio_w, ratio_h);
      ASSERT_TRUE(b.x1 == e[i].x1 && b.y1 == e[i].y1 && b.x2 == e[i].x2 && b.y2 == e[i].y2) << "box " << i;
    }
  }
}

}  // namespace
}  // namespace retinanet
