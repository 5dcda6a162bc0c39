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
};

// The `detection` structure of one detection on a width x height frame; the caller owns it.
GstStructure* detection_structure(const Detection& detection, int width, int height, bool stale);

// Attaches one meta per detection (ids 0..n-1); `buffer` must be writable.
void attach_detections(GstBuffer* buffer, const std::vector<Detection>& detections, int width, int height,
                       bool stale);

// Every region-of-interest meta on `buffer`, in the order they were attached.
std::vector<Region> read_regions(GstBuffer* buffer);

// A region back in the detector's terms, box in frame pixels: from the normalised corners when the region has a
// `detection` param (full precision), else from its integer box (label -1, score -1).
Detection to_detection(const Region& region, int width, int height);

}  // namespace retinanet::gst
