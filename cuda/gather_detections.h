// The last step of the GPU post-processing: the boxes batched_nms kept, at most detections_per_img of them, mapped
// back to the original frame (transform.resize_boxes) and packed into one small buffer, so that the host needs a
// single copy.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "common/detection_record.h"

namespace retinanet {

// keep, num_keep: batched_nms' outputs; boxes: device [n, 4] in the resized image; scores: device [n];
// labels: device [n]; ratio_w, ratio_h: original / resized size as float divisions; out: device buffer of
// detections_buffer_bytes(max_detections) bytes.
void gather_detections(const int64_t* keep, const int* num_keep, const float* boxes, const float* scores,
                       const int64_t* labels, int max_detections, float ratio_w, float ratio_h, void* out,
                       cudaStream_t stream);

}  // namespace retinanet
