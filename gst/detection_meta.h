// DESIGN.md's metadata contract, written and read in one place: one GstVideoRegionOfInterestMeta per detection,
// roi_type the label name, and a `detection` param structure (label_id, label, confidence, x_min..y_max
// normalised). retinanetdetect writes it; retinanetoverlay, retinanetjson and the example apps read it.
#pragma once

#include <gst/video/video.h>

#include <string>
#include <vector>

#include "model/inference/detector.h"

namespace retinanet::gst {

// Name of the param structure, and of the boolean field that marks detections carried over from an earlier frame
// (retinanetdetect's `interval`).
constexpr const char* kDetectionStructure = "detection";
constexpr const char* kStaleField = "stale";
// On carried detections: frames since the frame they were computed on, and that frame's pts.
constexpr const char* kAgeField = "age";
constexpr const char* kInferredPtsField = "inferred_pts";

// Where a frame's detections come from: its own inference (fresh), or an earlier frame's (stale: `interval`,
// `mode=async`, QoS), `age` frames back, with that frame's pts (GST_CLOCK_TIME_NONE when unknown).
struct Provenance {
  bool stale = false;
  guint age = 0;
  GstClockTime inferred_pts = GST_CLOCK_TIME_NONE;
};

// One region as read back from a buffer: any producer's. A meta without a `detection` param (another producer's,
// or one scaled by videoscale, whose meta transform drops params) has only the label and the pixel box.
struct Region {
  std::string label;            // roi_type
  int x = 0, y = 0, w = 0, h = 0;  // frame pixels
  bool has_detection = false;   // the fields below come from a `detection` param
  int label_id = -1;
  double confidence = -1;
  double x_min = 0, y_min = 0, x_max = 0, y_max = 0;  // 0..1 of the frame
  bool stale = false;
  guint age = 0;                                    // with stale: frames since the inferred frame
  GstClockTime inferred_pts = GST_CLOCK_TIME_NONE;  // with stale: that frame's pts
  int object_id = -1;           // a tracker's `object_id` param (retinanettrack): the object's id, -1: none
  bool predicted = false;       // the tracker predicted this box (no detection on this frame); implies stale
};

// The `detection` structure of one detection on a width x height frame; the caller owns it.
GstStructure* detection_structure(const Detection& detection, int width, int height, const Provenance& provenance);
inline GstStructure* detection_structure(const Detection& detection, int width, int height, bool stale) {
  return detection_structure(detection, width, height, Provenance{stale, stale ? 1u : 0u, GST_CLOCK_TIME_NONE});
}

// Attaches one meta per detection (ids 0..n-1); `buffer` must be writable.
void attach_detections(GstBuffer* buffer, const std::vector<Detection>& detections, int width, int height,
                       const Provenance& provenance);
inline void attach_detections(GstBuffer* buffer, const std::vector<Detection>& detections, int width, int height,
                              bool stale) {
  attach_detections(buffer, detections, width, height, Provenance{stale, stale ? 1u : 0u, GST_CLOCK_TIME_NONE});
}

// Every region-of-interest meta on `buffer`, in the order they were attached.
std::vector<Region> read_regions(GstBuffer* buffer);
// The metas themselves, in the same order as read_regions().
std::vector<GstVideoRegionOfInterestMeta*> region_metas(GstBuffer* buffer);

// A tracker's param on a meta (DL Streamer's convention): a structure named `object_id` with the int field `id`,
// and `predicted` (boolean), TRUE when the box is the tracker's prediction rather than a detection. Replaces any
// `object_id` param the meta had; the meta's buffer must be writable.
constexpr const char* kObjectIdStructure = "object_id";
constexpr const char* kPredictedField = "predicted";
void set_object_id(GstVideoRegionOfInterestMeta* meta, int id, bool predicted);

// A region back in the detector's terms, box in frame pixels: from the normalised corners when the region has a
// `detection` param (full precision), else from its integer box (label -1, score -1).
Detection to_detection(const Region& region, int width, int height);

// A frame the detector could not look at (a buffer too small for its caps, say) is marked so, with the reason,
// so that writers downstream can tell "not analysed" from "nothing found": a GstCustomMeta named
// kAnalysisMeta whose structure has `analysed` FALSE and a `reason` string.
constexpr const char* kAnalysisMeta = "GstRetinanetAnalysisMeta";
void mark_not_analysed(GstBuffer* buffer, const std::string& reason);  // `buffer` must be writable
// False (and `reason` set, when given) for a buffer marked by mark_not_analysed.
bool was_analysed(GstBuffer* buffer, std::string* reason = nullptr);

}  // namespace retinanet::gst
