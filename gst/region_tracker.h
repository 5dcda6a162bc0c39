// What retinanettrack does to one frame's metadata, apart from GObject: reads the region-of-interest metas of
// any producer (gst/detection_meta.h; a meta without our `detection` param counts as a confident detection of its
// roi_type), feeds the tracker (tracking/tracker.h) and writes the answer back on the same buffer:
//   - a frame with fresh metas: each meta of a confirmed track gets an `object_id` param (predicted FALSE);
//     metas of detections no confirmed track owns yet are left as they are, without an id;
//   - a frame whose metas are all marked stale (retinanetdetect's carried detections), or without metas where the
//     producer's rhythm says it was not inferred (tracking/cadence.h): the carried metas are removed and each track
//     matched on the last inferred frame gets a meta with its predicted box (clipped to the frame), its label, the
//     score of its last detection, `stale` TRUE and an `object_id` param with `predicted` TRUE;
//   - a frame without metas that was inferred: the tracks missed it, nothing is attached.
// Given the frame's pixels, each fresh detection carries a colour descriptor of its box to the tracker
// (gst/appearance.h), its appearance cue; without them the tracker associates by IoU and motion alone.
// Frames dropped before this one (a gap in the timestamps, tracking/frame_clock.h) move the tracks on as if
// they had been seen without detections.
#pragma once

#include <gst/gst.h>

#include "common/image.h"
#include "tracking/cadence.h"
#include "tracking/frame_clock.h"
#include "tracking/tracker.h"

namespace retinanet::gst {

class RegionTracker {
 public:
  // One frame of width x height pixels; `buffer` must be writable. Settings apply from this frame on. `pixels`:
  // the frame mapped (for the appearance cue), or null.
  void process(GstBuffer* buffer, int width, int height, const tracking::TrackerSettings& settings,
               const ImageView* pixels = nullptr);
  // Forgets every track, the producer's rhythm and the timestamps (a flush, new caps); ids start again from 1.
  void reset();

 private:
  tracking::Tracker tracker_;
  tracking::Cadence cadence_;
  tracking::FrameClock clock_;
};

}  // namespace retinanet::gst
