// Box decoding on the GPU for the candidates of one pyramid level: each candidate's anchor is generated on the
// device (AnchorGenerator.grid_anchors), its deltas decoded (BoxCoder.decode_single) and the box clipped to the image.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace retinanet {

struct LevelGrid {
  int grid_w = 0;                 // cells per row of the level's feature map
  int stride_h = 0, stride_w = 0; // padded image size // grid size, as in AnchorGenerator.forward
  int num_anchors = 0;            // A, anchors per cell
};

// deltas: device [grid_h * grid_w * A, 4], the level's regression output (anchor-major, as the head permutes it);
// anchor_idx: device [count], candidate anchors; cell_anchors: device [A, 4], the level's rounded base anchors;
// boxes: device [count, 4], decoded and clipped to (image_w, image_h).
void decode_boxes(const float* deltas, const int64_t* anchor_idx, int count, const float* cell_anchors,
                  const LevelGrid& grid, float image_w, float image_h, float* boxes, cudaStream_t stream);

}  // namespace retinanet
