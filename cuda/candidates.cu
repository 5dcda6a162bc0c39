#include "cuda/candidates.h"

#include <cmath>
#include <cub/device/device_segmented_radix_sort.cuh>
#include <cub/device/device_select.cuh>
#include <thrust/iterator/counting_iterator.h>

#include "cuda/cuda_check.h"

namespace retinanet {

namespace {

struct AboveThreshold {
  const float* logits;
  float score_thresh;
  __device__ bool operator()(int i) const { return sigmoid(logits[i]) > score_thresh; }
};

// The workspace, carved in aligned pieces; with base == nullptr only the total is computed.
struct CandidateWorkspace {
  int* selected = nullptr;        // [n] flat indices above the threshold, increasing
  int* num_selected = nullptr;    // [1]
  int* segment_begin = nullptr;   // [1] 0
  float* selected_scores = nullptr;  // [n]
  float* sorted_scores = nullptr;    // [n]
  int* sorted_idx = nullptr;         // [n]
  void* select_temp = nullptr;
  size_t select_temp_bytes = 0;
  void* sort_temp = nullptr;
  size_t sort_temp_bytes = 0;
  size_t total = 0;

  CandidateWorkspace(void* base, int n) {
    RETINANET_CUDA_CHECK(cub::DeviceSelect::If(nullptr, select_temp_bytes, thrust::counting_iterator<int>(0),
                                               static_cast<int*>(nullptr), static_cast<int*>(nullptr), n,
                                               AboveThreshold{nullptr, 0.f}));
    RETINANET_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
        nullptr, sort_temp_bytes, static_cast<const float*>(nullptr), static_cast<float*>(nullptr),
        static_cast<const int*>(nullptr), static_cast<int*>(nullptr), n, 1, static_cast<const int*>(nullptr),
        static_cast<const int*>(nullptr)));
    WorkspaceCarver carve(base);
    selected = carve.take<int>(n);
    num_selected = carve.take<int>(1);
    segment_begin = carve.take<int>(1);
    selected_scores = carve.take<float>(n);
    sorted_scores = carve.take<float>(n);
    sorted_idx = carve.take<int>(n);
    select_temp = carve.bytes(select_temp_bytes);
    sort_temp = carve.bytes(sort_temp_bytes);
    total = carve.total();
  }
};

__global__ void gather_scores_kernel(const float* logits, const int* selected, const int* num_selected, int n,
                                     float* scores) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n && i < *num_selected) scores[i] = sigmoid(logits[selected[i]]);
}

__global__ void split_candidates_kernel(const int* sorted_idx, const float* sorted_scores, const int* num_selected,
                                        int num_classes, int topk, int64_t* anchor_idx, int64_t* labels,
                                        float* scores, int* count) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int kept = min(*num_selected, topk);
  if (i == 0) *count = kept;
  if (i >= topk) return;
  if (i >= kept) {
    anchor_idx[i] = 0;
    labels[i] = 0;
    scores[i] = -INFINITY;
    return;
  }
  const int flat = sorted_idx[i];
  anchor_idx[i] = flat / num_classes;
  labels[i] = flat % num_classes;
  scores[i] = sorted_scores[i];
}

}  // namespace

size_t select_candidates_workspace_size(int64_t n) {
  return CandidateWorkspace(nullptr, static_cast<int>(n > 0 ? n : 1)).total;
}

void select_candidates(const float* logits, int64_t n, int num_classes, float score_thresh, int topk,
                       void* workspace, size_t workspace_bytes, int64_t* anchor_idx, int64_t* labels, float* scores,
                       int* count, cudaStream_t stream) {
  if (n > INT32_MAX) throw CudaError("select_candidates: a level of more than 2^31 logits");
  if (topk <= 0) {
    RETINANET_CUDA_CHECK(cudaMemsetAsync(count, 0, sizeof(int), stream));
    return;
  }
  if (n <= 0) throw CudaError("select_candidates: a level without logits");
  const int items = static_cast<int>(n);
  const CandidateWorkspace ws(workspace, items);
  if (workspace_bytes < ws.total) throw CudaError("select_candidates: workspace too small");
  size_t select_bytes = ws.select_temp_bytes;
  RETINANET_CUDA_CHECK(cub::DeviceSelect::If(ws.select_temp, select_bytes, thrust::counting_iterator<int>(0),
                                             ws.selected, ws.num_selected, items,
                                             AboveThreshold{logits, score_thresh}, stream));
  const int threads = 256;
  gather_scores_kernel<<<(items + threads - 1) / threads, threads, 0, stream>>>(logits, ws.selected,
                                                                               ws.num_selected, items,
                                                                               ws.selected_scores);
  RETINANET_CUDA_CHECK_LAUNCH("gather_scores_kernel");
  // One segment [0, num_selected): its end stays on the device. Radix sort is stable, so equal scores keep the
  // increasing flat-index order of the selection.
  RETINANET_CUDA_CHECK(cudaMemsetAsync(ws.segment_begin, 0, sizeof(int), stream));
  size_t sort_bytes = ws.sort_temp_bytes;
  RETINANET_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
      ws.sort_temp, sort_bytes, ws.selected_scores, ws.sorted_scores, ws.selected, ws.sorted_idx, items, 1,
      ws.segment_begin, ws.num_selected, 0, 32, stream));
  split_candidates_kernel<<<(topk + threads - 1) / threads, threads, 0, stream>>>(
      ws.sorted_idx, ws.sorted_scores, ws.num_selected, num_classes, topk, anchor_idx, labels, scores, count);
  RETINANET_CUDA_CHECK_LAUNCH("split_candidates_kernel");
}

}  // namespace retinanet
