// The video formats the elements take, and a mapped GstVideoFrame seen as the detector's ImageView.
#pragma once

#include <gst/video/video.h>

#include <opencv2/core/mat.hpp>

#include "model/image.h"

// Caps of retinanetdetect and retinanetoverlay: the detector's eight formats, in system memory, any size and rate.
#define RETINANET_VIDEO_FORMATS "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420, NV12 }"
#define RETINANET_VIDEO_CAPS GST_VIDEO_CAPS_MAKE (RETINANET_VIDEO_FORMATS)

namespace retinanet::gst {

// The detector's name for a GStreamer format; false for a format the detector does not take.
bool pixel_format_for(GstVideoFormat format, PixelFormat& out);

// The frame as the detector reads it, without a copy. The detector needs an even width and height for I420 and
// NV12 (its YUV conversion works on 2x2 blocks); for an odd-sized YUV frame the pixels are converted to RGB in
// `scratch` instead (the last row and column repeated to make the blocks whole), and the view points there.
ImageView image_view(const GstVideoFrame& frame, PixelFormat format, cv::Mat& scratch);

}  // namespace retinanet::gst
