// A chain of 3x3, stride-1, padding-1 convolutions (bias, optional ReLU after each) run straight through oneDNN,
// with its Winograd F(4x4, 3x3) kernel wherever oneDNN has one for this CPU (AVX-512): 2.25 times fewer
// multiplications than the direct convolution ATen's mkldnn_convolution always picks, and the ReLU fused into the
// convolution. RetinaNet's subnets are such chains and hold about half of its work, so this is where the CPU time
// goes. The rounding differs from the direct convolution by a few units in the sixth significant digit.
//
// The activations stay in oneDNN's blocked layout between layers; the last layer's output comes back channels-last,
// which is exactly torchvision's (N, H*W*A, K) view of a subnet's output, so no permute is needed after it.
#pragma once

#include <torch/types.h>

#include <memory>
#include <vector>

namespace retinanet {

// Scratch and between-layer memory for chains that run one after another, grown to the largest need.
struct WinogradWorkspace;
std::shared_ptr<WinogradWorkspace> make_winograd_workspace();

class WinogradChain {
 public:
  struct Layer {
    torch::Tensor weight;  // [out, in, 3, 3] float, dense
    torch::Tensor bias;    // [out]
    bool relu = false;
  };

  // nullptr when this build has no oneDNN of its own or the layers are not 3x3 float convolutions. Chains given
  // the same workspace take turns on it (null: a workspace of its own).
  static std::unique_ptr<WinogradChain> create(std::vector<Layer> layers,
                                               std::shared_ptr<WinogradWorkspace> workspace = nullptr);
  ~WinogradChain();

  // x: [N, C, H, W] float on the CPU (dense, channels-last or an ATen oneDNN tensor) -> [N, H, W, out] contiguous.
  // sets_layout: this input is the frame's largest level, whose Winograd weight layout the chain keeps (smaller
  // levels that want another layout run the direct convolution).
  torch::Tensor forward(const torch::Tensor& x, bool sets_layout = true);
  // How many layers run as Winograd (the others as oneDNN's direct convolution); for tests and benchmarks.
  int winograd_layers(int64_t height, int64_t width);

 private:
  struct Impl;
  explicit WinogradChain(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace retinanet
