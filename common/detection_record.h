// The packed form of a frame's detections that post-processing writes (on the host or by the GPU's
// gather_detections kernel): plain records the host turns into Detections in one place (detections_from_records).
#pragma once

#include <cstddef>
#include <cstdint>

namespace retinanet {

struct DetectionRecord {
  float x1, y1, x2, y2;  // in the original frame's pixels
  float score;
  int32_t label;
};

// The GPU's packed buffer: an int32 count, padding to 16 bytes, then `max_detections` records (only `count` valid).
constexpr size_t kDetectionsHeaderBytes = 16;
inline size_t detections_buffer_bytes(int max_detections) {
  return kDetectionsHeaderBytes + sizeof(DetectionRecord) * static_cast<size_t>(max_detections);
}

}  // namespace retinanet
