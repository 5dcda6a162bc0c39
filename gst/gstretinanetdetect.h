/* retinanetdetect: RetinaNet object detection on raw video frames, results as region-of-interest metadata. */
#ifndef __GST_RETINANET_DETECT_H__
#define __GST_RETINANET_DETECT_H__

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/* How a frame meets its detections: see the element's documentation. */
typedef enum
{
  GST_RETINANET_DETECT_MODE_AUTO,
  GST_RETINANET_DETECT_MODE_SYNC,
  GST_RETINANET_DETECT_MODE_ASYNC,
} GstRetinanetDetectMode;

#define GST_TYPE_RETINANET_DETECT_MODE (gst_retinanet_detect_mode_get_type ())
GType gst_retinanet_detect_mode_get_type (void);

#define GST_TYPE_RETINANET_DETECT (gst_retinanet_detect_get_type ())
G_DECLARE_FINAL_TYPE (GstRetinanetDetect, gst_retinanet_detect, GST, RETINANET_DETECT, GstVideoFilter)

/* The detector and the stream policy (gst/stream_policy.h): C++, owned by the element. */
struct RetinanetDetectState;

struct _GstRetinanetDetect
{
  GstVideoFilter parent;

  /* properties, guarded by the object lock */
  gchar *model;
  gchar *device;
  gboolean half;
  gint threads;
  gfloat score_threshold;
  gfloat nms_threshold;
  gint max_detections;
  gint min_size;
  gint max_size;
  guint interval;
  gchar *classes;
  gchar *class_thresholds;
  gboolean agnostic_nms;
  gchar *labels_file;
  gboolean post_messages;
  GstRetinanetDetectMode mode;
  gchar *model_instance_id;
  guint batch_size;
  guint64 batch_timeout;        /* microseconds */

  /* QoS, from the src pad's events (another thread): frames whose running time is before this are late */
  GstClockTime earliest_time;
  /* the detector's time per frame in sync mode, for the latency query (streaming thread writes) */
  gdouble frame_ms;
  /* frames of this stream whose detections were computed (read-only property) */
  guint64 inferred_frames;
  /* the loaded model's label names, label i at index i (read-only property; NULL when not started) */
  gchar **labels;

  /* created at start, deleted at stop (streaming thread only in between) */
  struct RetinanetDetectState *state;
};

GST_ELEMENT_REGISTER_DECLARE (retinanetdetect);

G_END_DECLS

#endif /* __GST_RETINANET_DETECT_H__ */
