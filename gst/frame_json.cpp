#include "gst/frame_json.h"

#include <vector>

#include "gst/detection_meta.h"
#include "model/files/detection_json.h"

namespace retinanet::gst {

nlohmann::json frame_json(GstBuffer* buffer, uint64_t frame, int width, int height, const std::string& source) {
  const std::vector<Region> regions = read_regions(buffer);
  std::vector<Detection> detections;
  detections.reserve(regions.size());
  bool stale = false;
  for (const Region& r : regions) {
    detections.push_back(to_detection(r, width, height));
    stale = stale || r.stale;
  }
  nlohmann::json list = detections_to_json(detections);
  for (size_t i = 0; i < regions.size(); ++i) {
    if (!regions[i].has_detection) {
      list[i]["label"] = nullptr;
      list[i]["score"] = nullptr;
    }
    if (regions[i].object_id >= 0) list[i]["object_id"] = regions[i].object_id;  // a tracker's (retinanettrack)
    // The tracker's prediction, not a detection of this frame: readers that count or time objects tell them apart.
    if (regions[i].predicted) list[i]["predicted"] = true;
  }
  const GstClockTime pts = GST_BUFFER_PTS (buffer);
  const bool timed = GST_CLOCK_TIME_IS_VALID (pts);
  nlohmann::json line = {{"frame", frame},
                         {"pts", timed ? nlohmann::json(pts) : nlohmann::json(nullptr)},
                         {"timestamp", timed ? nlohmann::json(pts / 1e9) : nlohmann::json(nullptr)},
                         {"width", width},
                         {"height", height},
                         {"stale", stale},
                         {"source", source},
                         {"detections", list}};
  std::string reason;
  if (!was_analysed(buffer, &reason)) {  // "not analysed" is not "nothing found": the line says which
    line["stale"] = false;
    line["analysed"] = false;
    line["reason"] = reason;
    line["detections"] = nlohmann::json::array();
  }
  return line;
}

}  // namespace retinanet::gst
