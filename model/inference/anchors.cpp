#include "model/inference/anchors.h"

#include "common/box_math.h"

namespace retinanet {

std::vector<torch::Tensor> make_cell_anchors(const ModelConfig& config) {
  std::vector<torch::Tensor> cells;
  const torch::Tensor aspect_ratios = torch::tensor(config.aspect_ratios, torch::kFloat32);
  for (const auto& sizes : config.anchor_sizes) {
    const torch::Tensor scales = torch::tensor(sizes, torch::kFloat32);
    const torch::Tensor h_ratios = torch::sqrt(aspect_ratios);
    const torch::Tensor w_ratios = 1 / h_ratios;
    const torch::Tensor ws = (w_ratios.unsqueeze(1) * scales.unsqueeze(0)).view(-1);
    const torch::Tensor hs = (h_ratios.unsqueeze(1) * scales.unsqueeze(0)).view(-1);
    cells.push_back((torch::stack({-ws, -hs, ws, hs}, 1) / 2).round().contiguous());
  }
  return cells;
}

std::vector<torch::Tensor> make_grid_anchors(const std::vector<torch::Tensor>& cell_anchors, int64_t image_h,
                                             int64_t image_w,
                                             const std::vector<std::pair<int64_t, int64_t>>& grid_sizes) {
  std::vector<torch::Tensor> levels;
  for (size_t l = 0; l < grid_sizes.size(); ++l) {
    const auto [grid_h, grid_w] = grid_sizes[l];
    // Strides are integer divisions of the padded image size, as in AnchorGenerator.forward.
    const int stride_h = static_cast<int>(image_h / grid_h);
    const int stride_w = static_cast<int>(image_w / grid_w);
    const torch::Tensor cell = cell_anchors[l].contiguous();
    const int num_anchors = static_cast<int>(cell.size(0));
    torch::Tensor anchors = torch::empty({grid_h * grid_w * num_anchors, 4}, torch::kFloat32);
    auto* out = reinterpret_cast<Box*>(anchors.data_ptr<float>());
    for (int64_t row = 0; row < grid_h; ++row)
      for (int64_t col = 0; col < grid_w; ++col)
        for (int a = 0; a < num_anchors; ++a)
          *out++ = grid_anchor(cell.data_ptr<float>(), a, static_cast<int>(row), static_cast<int>(col), stride_h,
                               stride_w);
    levels.push_back(anchors);
  }
  return levels;
}

}  // namespace retinanet
