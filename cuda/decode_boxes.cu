#include "cuda/decode_boxes.h"

#include "common/box_math.h"
#include "cuda/cuda_check.h"

namespace retinanet {

namespace {

__global__ void decode_boxes_kernel(const float* deltas, const int64_t* anchor_idx, int count,
                                    const float* cell_anchors, LevelGrid grid, float image_w, float image_h,
                                    Box* boxes) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const int64_t k = anchor_idx[i];
  // Anchor k is anchor (k % A) of cell k / A, cells in row-major order.
  const int64_t cell = k / grid.num_anchors;
  const Box anchor = grid_anchor(cell_anchors, static_cast<int>(k % grid.num_anchors), static_cast<int>(cell / grid.grid_w),
                                 static_cast<int>(cell % grid.grid_w), grid.stride_h, grid.stride_w);
  boxes[i] = clip_box(decode_box(deltas + 4 * k, anchor), image_w, image_h);
}

}  // namespace

void decode_boxes(const float* deltas, const int64_t* anchor_idx, int count, const float* cell_anchors,
                  const LevelGrid& grid, float image_w, float image_h, float* boxes, cudaStream_t stream) {
  if (count <= 0) return;
  const int threads = 256;
  decode_boxes_kernel<<<(count + threads - 1) / threads, threads, 0, stream>>>(
      deltas, anchor_idx, count, cell_anchors, grid, image_w, image_h, reinterpret_cast<Box*>(boxes));
  RETINANET_CUDA_CHECK_LAUNCH("decode_boxes_kernel");
}

}  // namespace retinanet
