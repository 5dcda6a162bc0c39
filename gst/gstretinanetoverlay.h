/* retinanetoverlay: draws region-of-interest metadata (boxes and "label score") onto raw video frames. */
#ifndef __GST_RETINANET_OVERLAY_H__
#define __GST_RETINANET_OVERLAY_H__

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_RETINANET_OVERLAY (gst_retinanet_overlay_get_type ())
G_DECLARE_FINAL_TYPE (GstRetinanetOverlay, gst_retinanet_overlay, GST, RETINANET_OVERLAY, GstVideoFilter)

struct _GstRetinanetOverlay
{
  GstVideoFilter parent;

  /* properties, guarded by the object lock */
  gint thickness;
  gdouble font_scale;
  gboolean show_labels;
  gboolean show_confidence;
  gboolean show_ids;
  guint trail_length;
  gchar *class_colors;

  /* the parsed class colours (under the object lock) and the trails (streaming thread): an OverlayState */
  struct OverlayState *state;

  /* chosen at set_info for the negotiated format (a retinanet::gst::PaintFunction) */
  gpointer paint;
};

GST_ELEMENT_REGISTER_DECLARE (retinanetoverlay);

G_END_DECLS

#endif /* __GST_RETINANET_OVERLAY_H__ */
