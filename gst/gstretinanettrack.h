/* retinanettrack: gives the region-of-interest metas of each frame persistent object ids, and moves the boxes with
 * the objects on frames without fresh detections. */
#ifndef __GST_RETINANET_TRACK_H__
#define __GST_RETINANET_TRACK_H__

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_RETINANET_TRACK (gst_retinanet_track_get_type ())
G_DECLARE_FINAL_TYPE (GstRetinanetTrack, gst_retinanet_track, GST, RETINANET_TRACK, GstBaseTransform)

struct _GstRetinanetTrack
{
  GstBaseTransform parent;

  /* properties, guarded by the object lock */
  gdouble high_threshold;
  gdouble low_threshold;
  gdouble new_track_threshold;
  gdouble iou_threshold;
  guint min_hits;
  gdouble confirm_threshold;
  gboolean per_class;
  guint max_age;
  guint coast_misses;
  gboolean appearance;
  gdouble appearance_threshold;

  /* streaming state */
  GstVideoInfo info;            /* the negotiated frame size */
  GstCaps *caps;                /* the caps the tracks were made under: other caps reset them */
  struct RegionTrackerBox *impl; /* a retinanet::gst::RegionTracker, created at start, deleted at stop */
};

GST_ELEMENT_REGISTER_DECLARE (retinanettrack);

G_END_DECLS

#endif /* __GST_RETINANET_TRACK_H__ */
