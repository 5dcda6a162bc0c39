#include "gst/region_tracker.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gst/appearance.h"
#include "gst/detection_meta.h"

namespace retinanet::gst {

namespace {

// A predicted box with less than this share of its area inside the frame is not shown.
constexpr float kLeavingShare = 0.5f;

// The predicted boxes of the tracks, as metas in the form retinanetdetect writes (a `detection` param when the
// track's detections had a label id, so that readers see its label and last score), plus their `object_id`.
void attach_predictions(GstBuffer* buffer, const std::vector<tracking::TrackedObject>& objects, int width,
                        int height, gint first_meta_id) {
  gint meta_id = first_meta_id;
  for (const tracking::TrackedObject& o : objects) {
    const float x1 = std::clamp(o.box.x1, 0.f, static_cast<float>(width));
    const float y1 = std::clamp(o.box.y1, 0.f, static_cast<float>(height));
    const float x2 = std::clamp(o.box.x2, x1, static_cast<float>(width));
    const float y2 = std::clamp(o.box.y2, y1, static_cast<float>(height));
    if (x2 - x1 < 1 || y2 - y1 < 1) continue;  // moved out of the frame
    // Mostly outside the frame: the object is leaving (or has left, unseen), and a box on what little of it
    // could still be in the frame would be a guess; the track lives on, so that it takes the object back if it
    // turns round.
    if ((x2 - x1) * (y2 - y1) < kLeavingShare * o.box.width() * o.box.height()) continue;
    const int px1 = static_cast<int>(std::floor(x1)), py1 = static_cast<int>(std::floor(y1));
    const int px2 = std::min(width, static_cast<int>(std::ceil(x2)));
    const int py2 = std::min(height, static_cast<int>(std::ceil(y2)));
    GstVideoRegionOfInterestMeta* meta = gst_buffer_add_video_region_of_interest_meta (buffer, o.label.c_str (),
        px1, py1, px2 - px1, py2 - py1);
    meta->id = meta_id++;
    if (o.label_id >= 0) {
      Detection d;
      d.label = o.label_id;
      d.name = o.label;
      d.score = o.score;
      d.x1 = x1;
      d.y1 = y1;
      d.x2 = x2;
      d.y2 = y2;
      gst_video_region_of_interest_meta_add_param (meta, detection_structure (d, width, height, true));
    }
    set_object_id (meta, static_cast<int>(o.id), true);
  }
}

}  // namespace

void RegionTracker::reset() {
  tracker_.reset();
  cadence_.reset();
  clock_.reset();
}

void RegionTracker::process(GstBuffer* buffer, int width, int height, const tracking::TrackerSettings& settings,
                            const ImageView* pixels) {
  tracker_.set_settings(settings);
  const GstClockTime pts = GST_BUFFER_PTS (buffer);
  const unsigned frames = clock_.advance(GST_CLOCK_TIME_IS_VALID (pts) ? std::optional<uint64_t>(pts) : std::nullopt,
                                         settings.max_age + 1);
  const std::vector<Region> regions = read_regions(buffer);
  const std::vector<GstVideoRegionOfInterestMeta*> metas = region_metas(buffer);

  // Fresh detections are the metas not marked stale (nor predicted by a tracker before us).
  std::vector<tracking::Observation> observations;
  std::vector<GstVideoRegionOfInterestMeta*> observed;
  for (size_t i = 0; i < regions.size() && i < metas.size(); ++i) {
    const Region& r = regions[i];
    if (r.stale) continue;
    const Detection d = to_detection(r, width, height);
    tracking::Observation o;
    o.box = {d.x1, d.y1, d.x2, d.y2};
    o.score = r.has_detection ? static_cast<float>(r.confidence) : -1.f;  // -1: no score, counts as confident
    o.label_id = r.label_id;
    o.label = r.label;
    if (pixels) o.appearance = appearance_descriptor(*pixels, o.box);
    observations.push_back(std::move(o));
    observed.push_back(metas[i]);
  }

  if (!observations.empty()) {
    cadence_.fresh();
    std::vector<tracking::TrackedObject> coasting;
    for (tracking::TrackedObject& t : tracker_.update(observations, frames)) {
      if (t.observation >= 0)
        set_object_id (observed[t.observation], static_cast<int>(t.id), false);
      else
        coasting.push_back(std::move(t));
    }
    attach_predictions(buffer, coasting, width, height, static_cast<gint>(metas.size()));
    return;
  }
  // Only carried metas: not inferred. No metas at all: inferred or not, as the producer's rhythm says.
  bool skipped = true;
  if (!regions.empty())
    cadence_.carried();
  else
    skipped = cadence_.empty() == tracking::Cadence::Frame::kSkipped;
  if (!skipped) {
    attach_predictions(buffer, tracker_.update({}, frames), width, height, 0);
    return;
  }
  // Carried or predicted metas of an earlier frame are replaced by the tracks' predictions for this one.
  for (GstVideoRegionOfInterestMeta* meta : metas) gst_buffer_remove_meta (buffer, &meta->meta);
  attach_predictions(buffer, tracker_.predict(frames), width, height, 0);
}

}  // namespace retinanet::gst
