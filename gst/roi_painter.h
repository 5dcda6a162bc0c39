// Draws regions of interest onto a mapped video frame in place: a box outline inside the region's box and a
// "label score" banner on the box's top edge, above it (inside the box only when the frame has no room above), so
// no pixel outside the boxes and their banners is touched and small objects stay visible. OpenCV draws the shapes
// into a mask; the mask is then written into the frame's own planes (Y and chroma separately for I420/NV12, no
// conversion of the frame).
#pragma once

#include <gst/video/video.h>

#include <opencv2/core/types.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gst/detection_meta.h"

namespace retinanet::gst {

struct PaintStyle {
  int thickness = 2;          // box outline, pixels
  double font_scale = 0.5;    // OpenCV Hershey simplex scale
  bool show_labels = true;
  bool show_confidence = true;
};

using Rgb = std::array<uint8_t, 3>;

// The colour of a class: picked from a fixed palette by a hash of the label name, so it is the same in every run
// and for every producer, whether or not the meta carries a `detection` param.
Rgb class_colour(const std::string& label);

// The banner text of a region under `style` ("" when it shows nothing).
std::string region_caption(const Region& region, const PaintStyle& style);

// Where the caption banner of a region goes in a width x height frame: left-aligned with the box and resting on
// its top edge, moved inside the box when there is no room above, shifted left to stay inside the frame, clipped
// to it. Empty when the region shows no caption or its box lies outside the frame.
cv::Rect caption_rect(const Region& region, const PaintStyle& style, int width, int height);

// Paints onto a frame of one format family; chosen once per format by painter_for().
using PaintFunction = void (*)(GstVideoFrame* frame, const std::vector<Region>& regions, const PaintStyle& style);

// The painter for `format`, or nullptr for a format not handled (packed 3/4-byte RGB and the 4:2:0 YUV formats).
PaintFunction painter_for(GstVideoFormat format);

}  // namespace retinanet::gst
