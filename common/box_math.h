// Per-element box math shared by the host code in model/ and the CUDA kernels in cuda/.
// Each function follows the torchvision function named in its comment, operation for operation, so that the
// host path and the kernels give torchvision's numbers. The host build defines the qualifiers away.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/host_device.h"

namespace retinanet {

// torchvision.models.detection._utils.BoxCoder: bbox_xform_clip = log(1000. / 16).
constexpr float kBoxXformClip = 4.135166556742356f;

// A box as (x1, y1, x2, y2) in pixels.
struct Box {
  float x1, y1, x2, y2;
};

// BoxCoder.decode_single with weights (1, 1, 1, 1) for one anchor: deltas (dx, dy, dw, dh), dw/dh clamped.
RETINANET_HD Box decode_box(const float* deltas, const Box& anchor) {
  const float width = anchor.x2 - anchor.x1;
  const float height = anchor.y2 - anchor.y1;
  const float ctr_x = anchor.x1 + 0.5f * width;
  const float ctr_y = anchor.y1 + 0.5f * height;
  const float dx = deltas[0];
  const float dy = deltas[1];
  const float dw = fminf(deltas[2], kBoxXformClip);
  const float dh = fminf(deltas[3], kBoxXformClip);
  const float pred_ctr_x = dx * width + ctr_x;
  const float pred_ctr_y = dy * height + ctr_y;
  const float half_w = 0.5f * (expf(dw) * width);
  const float half_h = 0.5f * (expf(dh) * height);
  return Box{pred_ctr_x - half_w, pred_ctr_y - half_h, pred_ctr_x + half_w, pred_ctr_y + half_h};
}

// torchvision.ops.boxes.clip_boxes_to_image: x into [0, width], y into [0, height].
RETINANET_HD Box clip_box(const Box& b, float width, float height) {
  return Box{fminf(fmaxf(b.x1, 0.f), width), fminf(fmaxf(b.y1, 0.f), height), fminf(fmaxf(b.x2, 0.f), width),
             fminf(fmaxf(b.y2, 0.f), height)};
}

// transform.resize_boxes from the resized image to the original frame: ratios are float divisions of the sizes
// (original / resized), then one multiply per coordinate.
RETINANET_HD Box rescale_box(const Box& b, float ratio_w, float ratio_h) {
  return Box{b.x1 * ratio_w, b.y1 * ratio_h, b.x2 * ratio_w, b.y2 * ratio_h};
}

RETINANET_HD float box_area(const Box& b) { return (b.x2 - b.x1) * (b.y2 - b.y1); }

// torchvision's nms kernel: intersection over union with the areas computed once per box.
RETINANET_HD float box_iou(const Box& a, float area_a, const Box& b, float area_b) {
  const float w = fmaxf(0.f, fminf(a.x2, b.x2) - fmaxf(a.x1, b.x1));
  const float h = fmaxf(0.f, fminf(a.y2, b.y2) - fmaxf(a.y1, b.y1));
  const float inter = w * h;
  return inter / (area_a + area_b - inter);
}

// AnchorGenerator.grid_anchors: anchor `a` of the cell at (row, col) of a level with the given stride;
// `cell_anchors` holds the level's rounded base anchors as [A, 4].
RETINANET_HD Box grid_anchor(const float* cell_anchors, int a, int row, int col, int stride_h, int stride_w) {
  const float sx = static_cast<float>(col * stride_w);
  const float sy = static_cast<float>(row * stride_h);
  const float* c = cell_anchors + 4 * a;
  return Box{sx + c[0], sy + c[1], sx + c[2], sy + c[3]};
}

}  // namespace retinanet
