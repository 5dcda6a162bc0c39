#include "model/inference/nms.h"

#include <vector>

#include "common/box_math.h"

namespace retinanet {

torch::Tensor nms(const torch::Tensor& boxes, const torch::Tensor& scores, double iou_threshold) {
  const int64_t n = boxes.size(0);
  if (n == 0) return torch::empty({0}, torch::kInt64);
  const torch::Tensor b = boxes.to(torch::kFloat32).contiguous();
  const auto* box = reinterpret_cast<const Box*>(b.data_ptr<float>());
  // torchvision's nms kernel sorts with a stable descending sort, so equal scores keep their input order.
  const torch::Tensor order_t = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true)).contiguous();
  const int64_t* order = order_t.data_ptr<int64_t>();
  std::vector<float> areas(n);
  for (int64_t i = 0; i < n; ++i) areas[i] = box_area(box[i]);
  std::vector<uint8_t> suppressed(n, 0);
  std::vector<int64_t> keep;
  for (int64_t oi = 0; oi < n; ++oi) {
    const int64_t i = order[oi];
    if (suppressed[i]) continue;
    keep.push_back(i);
    for (int64_t oj = oi + 1; oj < n; ++oj) {
      const int64_t j = order[oj];
      if (!suppressed[j] && box_iou(box[i], areas[i], box[j], areas[j]) > iou_threshold) suppressed[j] = 1;
    }
  }
  return torch::tensor(keep, torch::kInt64);
}

torch::Tensor batched_nms(const torch::Tensor& boxes, const torch::Tensor& scores, const torch::Tensor& labels,
                          double iou_threshold) {
  if (boxes.size(0) == 0) return torch::empty({0}, torch::kInt64);
  // torchvision.ops.batched_nms picks one of two strategies by size (4000 coordinates on the CPU). They agree
  // except where an IoU lies within rounding of the threshold; following the same choice keeps even those equal.
  if (boxes.numel() > 4000) {
    // _batched_nms_vanilla: NMS per label, then all kept indices by decreasing score.
    torch::Tensor keep_mask = torch::zeros({boxes.size(0)}, torch::kBool);
    const torch::Tensor unique_labels = std::get<0>(torch::_unique(labels));
    for (int64_t u = 0; u < unique_labels.size(0); ++u) {
      const torch::Tensor idx = torch::where(labels == unique_labels[u])[0];
      keep_mask.index_put_({idx.index({nms(boxes.index({idx}), scores.index({idx}), iou_threshold)})}, true);
    }
    const torch::Tensor keep = torch::where(keep_mask)[0];
    return keep.index({std::get<1>(scores.index({keep}).sort(/*dim=*/0, /*descending=*/true))});
  }
  // _batched_nms_coordinate_trick: offset each label's boxes so that labels never overlap, then one NMS.
  const torch::Tensor max_coordinate = boxes.max();
  const torch::Tensor offsets = labels.to(boxes.dtype()) * (max_coordinate + 1);
  return nms(boxes + offsets.unsqueeze(1), scores, iou_threshold);
}

}  // namespace retinanet
