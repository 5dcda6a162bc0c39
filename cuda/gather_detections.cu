#include "cuda/gather_detections.h"

#include "common/box_math.h"
#include "cuda/cuda_check.h"

namespace retinanet {

namespace {

__global__ void gather_detections_kernel(const int64_t* keep, const int* num_keep, const Box* boxes,
                                         const float* scores, const int64_t* labels, int max_detections,
                                         float ratio_w, float ratio_h, char* out) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int count = min(*num_keep, max_detections);
  if (i == 0) *reinterpret_cast<int32_t*>(out) = count;
  if (i >= count) return;
  const int64_t j = keep[i];
  const Box b = rescale_box(boxes[j], ratio_w, ratio_h);
  auto* records = reinterpret_cast<DetectionRecord*>(out + kDetectionsHeaderBytes);
  records[i] = DetectionRecord{b.x1, b.y1, b.x2, b.y2, scores[j], static_cast<int32_t>(labels[j])};
}

}  // namespace

void gather_detections(const int64_t* keep, const int* num_keep, const float* boxes, const float* scores,
                       const int64_t* labels, int max_detections, float ratio_w, float ratio_h, void* out,
                       cudaStream_t stream) {
  const int threads = 128;
  const int blocks = max_detections > 0 ? (max_detections + threads - 1) / threads : 1;
  gather_detections_kernel<<<blocks, threads, 0, stream>>>(keep, num_keep, reinterpret_cast<const Box*>(boxes),
                                                           scores, labels, max_detections, ratio_w, ratio_h,
                                                           static_cast<char*>(out));
  RETINANET_CUDA_CHECK_LAUNCH("gather_detections_kernel");
}

}  // namespace retinanet
