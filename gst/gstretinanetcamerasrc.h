/* retinanetcamerasrc: a camera as decoded raw video that survives the camera going away (reconnects). */
#ifndef __GST_RETINANET_CAMERA_SRC_H__
#define __GST_RETINANET_CAMERA_SRC_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_RETINANET_CAMERA_SRC (gst_retinanet_camera_src_get_type ())
G_DECLARE_FINAL_TYPE (GstRetinanetCameraSrc, gst_retinanet_camera_src, GST, RETINANET_CAMERA_SRC, GstBin)

typedef struct _GstRetinanetCameraSrcWatch GstRetinanetCameraSrcWatch;

struct _GstRetinanetCameraSrc
{
  GstBin parent;

  /* properties, guarded by the object lock */
  gchar *location;
  guint timeout_ms;
  guint reconnect_interval_ms;
  gint reconnect_attempts;

  GstElement *out;        /* identity (single-segment): the ghost pad's target, kept across reconnects */
  GstPad *srcpad;         /* the ghost pad */
  GstElement *source;     /* the current camera: uridecodebin or v4l2src ! decodebin; replaced on reconnect */
  GstRetinanetCameraSrcWatch *watch;  /* the reconnecting thread and what it shares with the streaming thread */
};

GST_ELEMENT_REGISTER_DECLARE (retinanetcamerasrc);

G_END_DECLS

#endif /* __GST_RETINANET_CAMERA_SRC_H__ */
