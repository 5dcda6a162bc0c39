// The video formats the elements take, and a mapped GstVideoFrame seen as the detector's ImageView.
#pragma once

#include <gst/video/video.h>

#include "common/image.h"

// Caps of retinanetdetect and retinanetoverlay: the detector's eight formats, in system memory, any size and rate.
#define RETINANET_VIDEO_FORMATS "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420, NV12 }"
#define RETINANET_VIDEO_CAPS GST_VIDEO_CAPS_MAKE (RETINANET_VIDEO_FORMATS)

namespace retinanet::gst {

// The detector's name for a GStreamer format; false for a format the detector does not take.
bool pixel_format_for(GstVideoFormat format, PixelFormat& out);

// The frame as the detector reads it, without a copy: its planes and strides as GStreamer laid them out (the
// chroma planes of an odd-sized I420 or NV12 frame hold ceil(W/2) x ceil(H/2) samples, which the detector expects).
ImageView image_view(const GstVideoFrame& frame, PixelFormat format);

}  // namespace retinanet::gst
