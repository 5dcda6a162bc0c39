/* The `retinanet` plugin: registration only; each element lives in its own gst<element>.{h,cpp}. */
#include <gst/gst.h>

#include "gst/gstretinanetcamerasrc.h"
#include "gst/gstretinanetdetect.h"
#include "gst/gstretinanetjson.h"
#include "gst/gstretinanetoverlay.h"
#include "gst/gstretinanetpublish.h"
#include "gst/gstretinanettrack.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (retinanetcamerasrc, plugin);
  ret |= GST_ELEMENT_REGISTER (retinanetdetect, plugin);
  ret |= GST_ELEMENT_REGISTER (retinanetoverlay, plugin);
  ret |= GST_ELEMENT_REGISTER (retinanetjson, plugin);
  ret |= GST_ELEMENT_REGISTER (retinanetpublish, plugin);
  ret |= GST_ELEMENT_REGISTER (retinanettrack, plugin);
  return ret;
}

#define PACKAGE "gst-retinanet"

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, retinanet,
    "RetinaNet object detection: detector, overlay, JSON-lines writer and broker publisher",
    plugin_init, RETINANET_VERSION, "MIT/X11", "gst-retinanet", "Unknown package origin")
