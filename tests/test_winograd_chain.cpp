// The subnets' oneDNN chain (model/winograd_chain.h) against ATen's convolutions on the same weights: same function
// within Winograd's rounding, channels-last output, a plan per input size, and any batch size.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <thread>

#include "model/network/winograd_chain.h"

namespace retinanet {
namespace {

struct Case {
  std::vector<WinogradChain::Layer> layers;
  torch::Tensor reference(const torch::Tensor& x) const {
    torch::Tensor out = x;
    for (const auto& layer : layers) {
      out = torch::conv2d(out, layer.weight, layer.bias, 1, 1);
      if (layer.relu) out = out.relu();
    }
    return out.permute({0, 2, 3, 1}).contiguous();
  }
};

// Subnet-like weights: `convs` ReLU layers of `channels`, then a predictor of `outputs` channels.
Case make_case(int64_t channels, int convs, int64_t outputs, uint64_t seed) {
  torch::manual_seed(seed);
  Case c;
  for (int i = 0; i <= convs; ++i) {
    const int64_t out = i < convs ? channels : outputs;
    c.layers.push_back({torch::randn({out, channels, 3, 3}) * (1.5 / std::sqrt(9.0 * channels)),
                        torch::randn({out}) * 0.1, i < convs});
  }
  return c;
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want) {
  ASSERT_EQ(got.sizes(), want.sizes());
  const double scale = want.abs().max().item<double>();
  const double error = (got - want).abs().max().item<double>();
  EXPECT_LE(error, 2e-5 * std::max(scale, 1.0)) << "max |y| " << scale;
}

TEST(WinogradChain, MatchesAtenConvolutionsChannelsLast) {
  Case c = make_case(64, 4, 27, 11);
  auto chain = WinogradChain::create(c.layers);
  if (!chain) GTEST_SKIP() << "this build has no oneDNN of its own (another LibTorch, or -Donednn=disabled)";
  for (auto [h, w] : std::vector<std::pair<int64_t, int64_t>>{{37, 53}, {1, 1}, {5, 2}, {37, 53}}) {
    torch::Tensor x = torch::randn({1, 64, h, w});
    expect_close(chain->forward(x), c.reference(x));
  }
  std::printf("winograd layers at 37x53: %d of %zu\n", chain->winograd_layers(37, 53), c.layers.size());
}

TEST(WinogradChain, BatchAndOneDnnInputs) {
  Case c = make_case(32, 2, 36, 12);
  auto chain = WinogradChain::create(c.layers);
  if (!chain) GTEST_SKIP() << "this build has no oneDNN of its own";
  torch::Tensor x = torch::randn({3, 32, 19, 24});
  expect_close(chain->forward(x), c.reference(x));
  if (torch::hasMKLDNN()) expect_close(chain->forward(x.to_mkldnn()), c.reference(x));
  // One chain's output feeding the next, as the FPN's feeds the subnets.
  expect_close(chain->forward(x.contiguous(at::MemoryFormat::ChannelsLast)), c.reference(x));
  expect_close(chain->forward(x.narrow(0, 1, 1)), c.reference(x.narrow(0, 1, 1)));
}

// A wide last layer (the 819-channel class predictor) runs in parts of 256 outputs, each written into its slice.
TEST(WinogradChain, WideLastLayerInParts) {
  for (int64_t outputs : {256, 257, 600}) {
    Case c = make_case(32, 1, outputs, 17);
    auto chain = WinogradChain::create(c.layers);
    if (!chain) GTEST_SKIP() << "this build has no oneDNN of its own";
    torch::Tensor x = torch::randn({2, 32, 21, 30});
    expect_close(chain->forward(x), c.reference(x));
    Case single = make_case(32, 0, outputs, 18);
    expect_close(WinogradChain::create(single.layers)->forward(x), single.reference(x));
  }
}

// Frames of changing size: the largest level sets the Winograd weight layout (re-packing when a new size wants
// another), smaller levels follow it or run the direct convolution; every answer stays the same function.
TEST(WinogradChain, FrameSizesThatChangeTheWeightLayout) {
  Case c = make_case(256, 1, 40, 16);
  auto chain = WinogradChain::create(c.layers);
  if (!chain) GTEST_SKIP() << "this build has no oneDNN of its own";
  const std::vector<std::pair<int64_t, int64_t>> frames[] = {{{64, 88}, {32, 44}, {8, 11}},
                                                             {{100, 136}, {50, 68}, {13, 17}},
                                                             {{64, 88}, {32, 44}, {8, 11}}};
  for (const auto& levels : frames)
    for (size_t level = 0; level < levels.size(); ++level) {
      torch::Tensor x = torch::randn({1, 256, levels[level].first, levels[level].second});
      expect_close(chain->forward(x, level == 0), c.reference(x));
    }
}

// A GStreamer streaming thread is new at every start: a chain (and the primitives chains share) made on one thread
// must run on others, as a second chain on the same weights must.
TEST(WinogradChain, RunsOnOtherThreads) {
  Case c = make_case(32, 2, 12, 15);
  auto chain = WinogradChain::create(c.layers);
  if (!chain) GTEST_SKIP() << "this build has no oneDNN of its own";
  torch::Tensor x = torch::randn({1, 32, 23, 17});
  torch::Tensor want = c.reference(x);
  expect_close(chain->forward(x), want);
  for (int i = 0; i < 3; ++i) {
    std::thread([&] {
      auto again = WinogradChain::create(c.layers);
      expect_close(again->forward(x), want);
      expect_close(chain->forward(x), want);
    }).join();
  }
}

TEST(WinogradChain, RefusesWhatItCannotRun) {
  Case c = make_case(16, 1, 8, 13);
  c.layers[1].weight = torch::randn({8, 16, 1, 1});
  EXPECT_EQ(WinogradChain::create(c.layers), nullptr);
  Case mismatched = make_case(16, 1, 8, 14);
  mismatched.layers[1].weight = torch::randn({8, 12, 3, 3});
  EXPECT_EQ(WinogradChain::create(mismatched.layers), nullptr);
  EXPECT_EQ(WinogradChain::create({}), nullptr);
}

}  // namespace
}  // namespace retinanet
