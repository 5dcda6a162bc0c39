// The last step of the GPU post-processing: the boxes batched_nms kept, at most detections_per_img of them, mapped
// back to the original frame (transform.resize_boxes) and packed into one small buffer, so that the host needs a
// single copy.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace retinanet {

struct DetectionRecord {
  float x1, y1, x2, y2;  // in the original frame's pixels
  float score;
  int32_t label;
};

// The packed buffer: an int32 count, padding to 16 bytes, then `max_detections` records (only `count` valid).
constexpr size_t kDetectionsHeaderBytes = 16;
inline size_t detections_buffer_bytes(int max_detections) {
  return kDetectionsHeaderBytes + sizeof(DetectionRecord) * static_cast<size_t>(max_detections);
}

// keep, num_keep: batched_nms' outputs; boxes: device [n, 4] in the resized image; scores: device [n];
// labels: device [n]; ratio_w, ratio_h: original / resized size as float divisions; out: device buffer of
// detections_buffer_bytes(max_detections) bytes.
void gather_detections(const int64_t* keep, const int* num_keep, const float* boxes, const float* scores,
                       const int64_t* labels, int max_detections, float ratio_w, float ratio_h, void* out,
                       cudaStream_t stream);

}  // namespace retinanet
