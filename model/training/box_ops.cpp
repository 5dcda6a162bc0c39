#include "model/training/box_ops.h"

#include <torch/nn/functional/loss.h>

#include "common/box_math.h"

namespace retinanet {

namespace {

using torch::indexing::Slice;

torch::Tensor col(const torch::Tensor& boxes, int64_t i) { return boxes.index({Slice(), i}); }

}  // namespace

torch::Tensor box_iou_matrix(const torch::Tensor& boxes1, const torch::Tensor& boxes2) {
  const torch::Tensor area1 = (col(boxes1, 2) - col(boxes1, 0)) * (col(boxes1, 3) - col(boxes1, 1));
  const torch::Tensor area2 = (col(boxes2, 2) - col(boxes2, 0)) * (col(boxes2, 3) - col(boxes2, 1));
  const torch::Tensor lt = torch::max(boxes1.index({Slice(), torch::indexing::None, Slice(0, 2)}), boxes2.index({Slice(), Slice(0, 2)}));
  const torch::Tensor rb = torch::min(boxes1.index({Slice(), torch::indexing::None, Slice(2, 4)}), boxes2.index({Slice(), Slice(2, 4)}));
  const torch::Tensor wh = (rb - lt).clamp_min(0);
  const torch::Tensor inter = wh.select(2, 0) * wh.select(2, 1);
  return inter / (area1.unsqueeze(1) + area2 - inter);
}

torch::Tensor encode_boxes(const torch::Tensor& boxes, const torch::Tensor& anchors) {
  const torch::Tensor ex_w = col(anchors, 2) - col(anchors, 0);
  const torch::Tensor ex_h = col(anchors, 3) - col(anchors, 1);
  const torch::Tensor ex_x = col(anchors, 0) + 0.5 * ex_w;
  const torch::Tensor ex_y = col(anchors, 1) + 0.5 * ex_h;
  const torch::Tensor gt_w = col(boxes, 2) - col(boxes, 0);
  const torch::Tensor gt_h = col(boxes, 3) - col(boxes, 1);
  const torch::Tensor gt_x = col(boxes, 0) + 0.5 * gt_w;
  const torch::Tensor gt_y = col(boxes, 1) + 0.5 * gt_h;
  return torch::stack({(gt_x - ex_x) / ex_w, (gt_y - ex_y) / ex_h, torch::log(gt_w / ex_w), torch::log(gt_h / ex_h)}, 1);
}

torch::Tensor decode_boxes(const torch::Tensor& deltas, const torch::Tensor& anchors) {
  const torch::Tensor w = col(anchors, 2) - col(anchors, 0);
  const torch::Tensor h = col(anchors, 3) - col(anchors, 1);
  const torch::Tensor cx = col(anchors, 0) + 0.5 * w;
  const torch::Tensor cy = col(anchors, 1) + 0.5 * h;
  const torch::Tensor dw = col(deltas, 2).clamp_max(kBoxXformClip);
  const torch::Tensor dh = col(deltas, 3).clamp_max(kBoxXformClip);
  const torch::Tensor pcx = col(deltas, 0) * w + cx;
  const torch::Tensor pcy = col(deltas, 1) * h + cy;
  const torch::Tensor half_w = 0.5 * (torch::exp(dw) * w);
  const torch::Tensor half_h = 0.5 * (torch::exp(dh) * h);
  return torch::stack({pcx - half_w, pcy - half_h, pcx + half_w, pcy + half_h}, 1);
}

torch::Tensor generalized_box_iou_loss_sum(const torch::Tensor& boxes1, const torch::Tensor& boxes2) {
  const double eps = 1e-7;
  const torch::Tensor x1 = col(boxes1, 0), y1 = col(boxes1, 1), x2 = col(boxes1, 2), y2 = col(boxes1, 3);
  const torch::Tensor x1g = col(boxes2, 0), y1g = col(boxes2, 1), x2g = col(boxes2, 2), y2g = col(boxes2, 3);
  const torch::Tensor xk1 = torch::max(x1, x1g), yk1 = torch::max(y1, y1g);
  const torch::Tensor xk2 = torch::min(x2, x2g), yk2 = torch::min(y2, y2g);
  const torch::Tensor mask = (yk2 > yk1) & (xk2 > xk1);
  const torch::Tensor inter = torch::where(mask, (xk2 - xk1) * (yk2 - yk1), torch::zeros_like(x1));
  const torch::Tensor uni = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter;
  const torch::Tensor iou = inter / (uni + eps);
  const torch::Tensor area_c = (torch::max(x2, x2g) - torch::min(x1, x1g)) * (torch::max(y2, y2g) - torch::min(y1, y1g));
  return (1 - (iou - (area_c - uni) / (area_c + eps))).sum();
}

torch::Tensor sigmoid_focal_loss_sum(const torch::Tensor& logits, const torch::Tensor& targets, double alpha,
                                     double gamma) {
  namespace F = torch::nn::functional;
  const torch::Tensor p = torch::sigmoid(logits);
  const torch::Tensor ce = F::binary_cross_entropy_with_logits(
      logits, targets, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
  const torch::Tensor p_t = p * targets + (1 - p) * (1 - targets);
  torch::Tensor loss = ce * (1 - p_t).pow(gamma);
  if (alpha >= 0) loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss;
  return loss.sum();
}

}  // namespace retinanet
