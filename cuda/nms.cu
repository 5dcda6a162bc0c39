#include "cuda/nms.h"

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_reduce.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include <cmath>

#include "common/box_math.h"
#include "cuda/cuda_check.h"

namespace retinanet {

namespace {

RETINANET_HD int mask_words(int n) { return (n + kNmsBlock - 1) / kNmsBlock; }

// Coordinate i of the [n, 4] boxes, or -infinity for a padding entry, for the maximum of the coordinate trick.
struct ValidCoordinate {
  const float* boxes;
  const float* scores;
  __host__ __device__ float operator()(int i) const { return scores[i / 4] == -INFINITY ? -INFINITY : boxes[i]; }
};
using CoordinateIterator = thrust::transform_iterator<ValidCoordinate, thrust::counting_iterator<int>>;

CoordinateIterator valid_coordinates(const float* boxes, const float* scores) {
  return CoordinateIterator(thrust::counting_iterator<int>(0), ValidCoordinate{boxes, scores});
}

// The workspace, carved in aligned pieces; with base == nullptr only the total is computed.
struct NmsWorkspace {
  int* index_in = nullptr;        // [n] 0..n-1
  int* order = nullptr;           // [n] input index of the i-th best box
  float* sorted_scores = nullptr; // [n]
  float* max_coordinate = nullptr;// [1]
  Box* sorted_boxes = nullptr;    // [n] offset by label, in score order
  unsigned long long* mask = nullptr;  // [n, words]
  void* sort_temp = nullptr;
  size_t sort_temp_bytes = 0;
  void* max_temp = nullptr;
  size_t max_temp_bytes = 0;
  size_t total = 0;

  NmsWorkspace(void* base, int n) {
    RETINANET_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(nullptr, sort_temp_bytes, static_cast<float*>(nullptr),
                                                                   static_cast<float*>(nullptr), static_cast<int*>(nullptr),
                                                                   static_cast<int*>(nullptr), n));
    RETINANET_CUDA_CHECK(cub::DeviceReduce::Max(nullptr, max_temp_bytes, valid_coordinates(nullptr, nullptr),
                                                static_cast<float*>(nullptr), 4 * n));
    WorkspaceCarver carve(base);
    index_in = carve.take<int>(n);
    order = carve.take<int>(n);
    sorted_scores = carve.take<float>(n);
    max_coordinate = carve.take<float>(1);
    sorted_boxes = carve.take<Box>(n);
    mask = carve.take<unsigned long long>(static_cast<size_t>(n) * mask_words(n));
    sort_temp = carve.bytes(sort_temp_bytes);
    max_temp = carve.bytes(max_temp_bytes);
    total = carve.total();
  }
};

__global__ void iota_kernel(int* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = i;
}

// _batched_nms_coordinate_trick: boxes + labels * (max_coordinate + 1), gathered in score order.
__global__ void offset_boxes_kernel(const Box* boxes, const int64_t* labels, const int* order,
                                    const float* max_coordinate, int n, Box* sorted) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const int j = order[i];
  const float offset = static_cast<float>(labels[j]) * (*max_coordinate + 1.f);
  const Box b = boxes[j];
  sorted[i] = Box{b.x1 + offset, b.y1 + offset, b.x2 + offset, b.y2 + offset};
}

// torchvision's nms_kernel_impl: block (col, row) sets bit k of mask[i, col] when box i (of row block `row`)
// overlaps box col * 64 + k by more than the threshold; only boxes after i count.
__global__ void nms_kernel(const Box* boxes, int n, double iou_threshold, unsigned long long* mask) {
  const int row_start = blockIdx.y, col_start = blockIdx.x;
  if (row_start > col_start) return;
  const int row_size = min(n - row_start * kNmsBlock, kNmsBlock);
  const int col_size = min(n - col_start * kNmsBlock, kNmsBlock);
  __shared__ Box block_boxes[kNmsBlock];
  __shared__ float block_areas[kNmsBlock];
  if (threadIdx.x < col_size) {
    block_boxes[threadIdx.x] = boxes[kNmsBlock * col_start + threadIdx.x];
    block_areas[threadIdx.x] = box_area(block_boxes[threadIdx.x]);
  }
  __syncthreads();
  if (threadIdx.x < row_size) {
    const int i = kNmsBlock * row_start + threadIdx.x;
    const Box cur = boxes[i];
    const float cur_area = box_area(cur);
    unsigned long long bits = 0;
    for (int k = row_start == col_start ? threadIdx.x + 1 : 0; k < col_size; ++k)
      // Compared in double as the host nms does (a float IoU against the double threshold).
      if (static_cast<double>(box_iou(cur, cur_area, block_boxes[k], block_areas[k])) > iou_threshold)
        bits |= 1ULL << k;
    mask[static_cast<size_t>(i) * mask_words(n) + col_start] = bits;
  }
}

// The host reduction of torchvision's nms, in one block: walk the boxes in score order, keep each one not yet
// removed and remove what it overlaps. The threads share the OR-ing of a kept box's mask row.
__global__ void gather_keep_kernel(const unsigned long long* mask, const int* order, const float* sorted_scores,
                                   int n, int64_t* keep, int* num_keep) {
  extern __shared__ unsigned long long removed[];
  const int words = mask_words(n);
  for (int w = threadIdx.x; w < words; w += blockDim.x) removed[w] = 0;
  __syncthreads();
  int count = 0;
  for (int word = 0; word < words; ++word) {
    unsigned long long removed_word = removed[word];
    __syncthreads();
    for (int bit = 0; bit < kNmsBlock; ++bit) {
      const int i = word * kNmsBlock + bit;
      if (i >= n || sorted_scores[i] == -INFINITY) break;  // the padding sorts last
      if (removed_word & (1ULL << bit)) continue;
      if (threadIdx.x == 0) keep[count] = order[i];
      ++count;
      const unsigned long long* row = mask + static_cast<size_t>(i) * words;
      removed_word |= row[word];
      for (int w = word + 1 + threadIdx.x; w < words; w += blockDim.x) removed[w] |= row[w];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) *num_keep = count;
}

}  // namespace

size_t batched_nms_workspace_size(int n) { return NmsWorkspace(nullptr, n > 0 ? n : 1).total; }

void batched_nms(const float* boxes, const float* scores, const int64_t* labels, int n, double iou_threshold,
                 void* workspace, size_t workspace_bytes, int64_t* keep, int* num_keep, cudaStream_t stream) {
  if (n <= 0) {
    RETINANET_CUDA_CHECK(cudaMemsetAsync(num_keep, 0, sizeof(int), stream));
    return;
  }
  const NmsWorkspace ws(workspace, n);
  if (workspace_bytes < ws.total) throw CudaError("batched_nms: workspace too small");
  const int threads = 256, blocks = (n + threads - 1) / threads;
  iota_kernel<<<blocks, threads, 0, stream>>>(ws.index_in, n);
  RETINANET_CUDA_CHECK_LAUNCH("iota_kernel");
  // Radix sort is stable: equal scores keep their input order, as torchvision's sort(stable=True).
  size_t sort_bytes = ws.sort_temp_bytes;
  RETINANET_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(ws.sort_temp, sort_bytes, scores, ws.sorted_scores,
                                                                 ws.index_in, ws.order, n, 0, 32, stream));
  size_t max_bytes = ws.max_temp_bytes;
  RETINANET_CUDA_CHECK(cub::DeviceReduce::Max(ws.max_temp, max_bytes, valid_coordinates(boxes, scores),
                                              ws.max_coordinate, 4 * n, stream));
  offset_boxes_kernel<<<blocks, threads, 0, stream>>>(reinterpret_cast<const Box*>(boxes), labels, ws.order,
                                                      ws.max_coordinate, n, ws.sorted_boxes);
  RETINANET_CUDA_CHECK_LAUNCH("offset_boxes_kernel");
  const int words = mask_words(n);
  nms_kernel<<<dim3(words, words), kNmsBlock, 0, stream>>>(ws.sorted_boxes, n, iou_threshold, ws.mask);
  RETINANET_CUDA_CHECK_LAUNCH("nms_kernel");
  gather_keep_kernel<<<1, 256, sizeof(unsigned long long) * words, stream>>>(ws.mask, ws.order, ws.sorted_scores, n, keep,
                                                                           num_keep);
  RETINANET_CUDA_CHECK_LAUNCH("gather_keep_kernel");
}

}  // namespace retinanet
