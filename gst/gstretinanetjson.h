/* retinanetjson: writes each frame's region-of-interest metadata as one JSON line, passing buffers on. */
#ifndef __GST_RETINANET_JSON_H__
#define __GST_RETINANET_JSON_H__

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_RETINANET_JSON (gst_retinanet_json_get_type ())
G_DECLARE_FINAL_TYPE (GstRetinanetJson, gst_retinanet_json, GST, RETINANET_JSON, GstBaseTransform)

struct _GstRetinanetJson
{
  GstBaseTransform parent;

  /* properties, guarded by the object lock */
  gchar *location;
  gchar *source_id;        /* NULL: the element's name */

  /* streaming state: opened at start, closed at stop */
  int fd;                  /* -1 when stopped */
  gboolean own_fd;         /* FALSE for standard output, which is never closed */
  GstVideoInfo info;       /* the negotiated frame size */
  guint64 frame_number;
  gchar *source;           /* the source id in use, fixed at start */
};

GST_ELEMENT_REGISTER_DECLARE (retinanetjson);

G_END_DECLS

#endif /* __GST_RETINANET_JSON_H__ */
