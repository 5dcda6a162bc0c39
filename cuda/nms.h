// Batched NMS on the GPU, torchvision's CUDA algorithm: boxes sorted by score (stable, descending), each label's
// boxes moved apart by the coordinate-offset trick (_batched_nms_coordinate_trick), an IoU bitmask over 64-box
// blocks (nms_kernel_impl), then one block walks the mask in score order and writes the kept indices.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace retinanet {

// Boxes per mask word (torchvision's threadsPerBlock).
constexpr int kNmsBlock = 64;

// Scratch bytes batched_nms needs for n boxes (CUB-style: ask first, then pass a workspace of that size).
size_t batched_nms_workspace_size(int n);

// boxes: device [n, 4] (x1, y1, x2, y2); scores: device [n]; labels: device [n]. Entries scored -infinity are
// padding (select_candidates writes them): they are neither kept nor counted in the coordinate offset.
// keep: device [n], receives the kept indices into the inputs by decreasing score; num_keep: device int, their
// count. Nothing is copied to the host and nothing synchronises.
void batched_nms(const float* boxes, const float* scores, const int64_t* labels, int n, double iou_threshold,
                 void* workspace, size_t workspace_bytes, int64_t* keep, int* num_keep, cudaStream_t stream);

}  // namespace retinanet
