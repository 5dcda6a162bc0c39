// The score math of the candidate-selection kernel (cuda/candidates.h) on the host against torch.sigmoid.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cuda/candidates.h"

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

}  // namespace
}  // namespace retinanet
