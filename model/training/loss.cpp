#include "model/training/loss.h"

#include "model/training/box_ops.h"

namespace retinanet {

namespace {
constexpr int64_t kBelowLowThreshold = -1;
constexpr int64_t kBetweenThresholds = -2;
}  // namespace

torch::Tensor match_anchors(const torch::Tensor& iou) {
  auto [matched_vals, matches] = iou.max(0);
  const torch::Tensor all_matches = matches.clone();
  matches.index_put_({matched_vals < 0.4}, kBelowLowThreshold);
  matches.index_put_({(matched_vals >= 0.4) & (matched_vals < 0.5)}, kBetweenThresholds);
  // Low-quality matches: every object keeps the anchors of its highest IoU (ties included).
  const torch::Tensor highest = std::get<0>(iou.max(1));
  const torch::Tensor pred_inds = torch::where(iou == highest.unsqueeze(1))[1];
  matches.index_put_({pred_inds}, all_matches.index({pred_inds}));
  return matches;
}

Losses retinanet_losses(const torch::Tensor& class_logits, const torch::Tensor& box_deltas, const torch::Tensor& anchors,
                        const std::vector<Target>& targets, BoxLoss box_loss) {
  std::vector<torch::Tensor> cls_losses, box_losses;
  for (size_t i = 0; i < targets.size(); ++i) {
    const Target& t = targets[i];
    const torch::Tensor logits = class_logits[i];
    const torch::Tensor deltas = box_deltas[i];
    const torch::Tensor matched = t.boxes.size(0) == 0
                                      ? torch::full({anchors.size(0)}, kBelowLowThreshold, torch::TensorOptions().dtype(torch::kInt64).device(anchors.device()))
                                      : match_anchors(box_iou_matrix(t.boxes, anchors));
    const torch::Tensor foreground = matched >= 0;
    const torch::Tensor fg_idx = torch::where(foreground)[0];
    const double normaliser = std::max<int64_t>(1, fg_idx.size(0));

    torch::Tensor gt_classes = torch::zeros_like(logits);
    if (fg_idx.size(0) > 0)
      gt_classes.index_put_({fg_idx, t.labels.index({matched.index({fg_idx})})}, 1.0);
    const torch::Tensor valid = matched != kBetweenThresholds;
    cls_losses.push_back(sigmoid_focal_loss_sum(logits.index({valid}), gt_classes.index({valid})) / normaliser);

    const torch::Tensor gt_boxes = t.boxes.size(0) ? t.boxes.index({matched.index({fg_idx})}) : torch::zeros({0, 4}, anchors.options());
    const torch::Tensor fg_deltas = deltas.index({fg_idx});
    const torch::Tensor fg_anchors = anchors.index({fg_idx});
    torch::Tensor loss = box_loss == BoxLoss::kL1
                             ? (fg_deltas - encode_boxes(gt_boxes, fg_anchors)).abs().sum()
                             : generalized_box_iou_loss_sum(decode_boxes(fg_deltas, fg_anchors), gt_boxes);
    box_losses.push_back(loss / normaliser);
  }
  const double n = std::max<size_t>(1, targets.size());
  return {torch::stack(cls_losses).sum() / n, torch::stack(box_losses).sum() / n};
}

}  // namespace retinanet
