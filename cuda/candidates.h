// Candidate selection on the GPU for one pyramid level, as RetinaNet.postprocess_detections does per level:
// sigmoid of every class logit, scores above score_thresh, the best topk_candidates of them by score, split into
// anchor index and label. Everything stays on the device (the counts too), so nothing synchronises.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "common/score_math.h"

namespace retinanet {

// Scratch bytes for a level of n = A * K logits (CUB-style: ask first, then pass a workspace of that size).
size_t select_candidates_workspace_size(int64_t n);

// logits: device [n] = [A, K] class logits of the level (anchor-major); anchor_idx, labels: device [topk] int64;
// scores: device [topk]; count: device int, min(topk, entries above the threshold). The order is by decreasing
// score, equal scores by increasing flat index. Entries past `count` are padding: score -infinity, anchor 0,
// label 0, which batched_nms ignores; so the outputs of all levels can be laid side by side at fixed offsets.
void select_candidates(const float* logits, int64_t n, int num_classes, float score_thresh, int topk,
                       void* workspace, size_t workspace_bytes, int64_t* anchor_idx, int64_t* labels, float* scores,
                       int* count, cudaStream_t stream);

}  // namespace retinanet
