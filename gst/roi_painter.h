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
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "gst/detection_meta.h"

namespace retinanet::gst {

using Rgb = std::array<uint8_t, 3>;

// Colours chosen per class: by label name, or by label id written as a number.
using ClassColours = std::map<std::string, Rgb>;

struct PaintStyle {
  int thickness = 2;          // box outline, pixels (predicted and stale boxes: half, dashed)
  double font_scale = 0.5;    // OpenCV Hershey simplex scale
  bool show_labels = true;
  bool show_confidence = true;
  bool show_ids = true;       // a tracker's object id ("#7") first in the caption
  ClassColours colours;       // overrides of class_colour()
};

// The colour of a class: picked from a fixed palette by a hash of the label name, so it is the same in every run
// and for every producer, whether or not the meta carries a `detection` param.
Rgb class_colour(const std::string& label);
// The colour a region is drawn in under `style`: its label's entry in style.colours, else its label id's, else
// class_colour().
Rgb region_colour(const Region& region, const PaintStyle& style);

// Parses the overlay's `class-colors` text: comma-separated `class=colour` entries, the class a label name or
// id, the colour six hex digits (`ff8000`, `#ff8000` or `0xff8000`, RGB). Returns false and says why in `error`
// on a malformed entry; `out` is then unchanged.
bool parse_class_colours(const std::string& text, ClassColours& out, std::string& error);

// A tracked object's recent path: box centres, oldest first, drawn as a line in the colour of its class.
struct Trail {
  std::vector<cv::Point> points;
  Rgb colour{};
};

// The recent paths of tracked objects (regions with an object id), kept across frames by the overlay: each frame's
// box centres are added, a path keeps its last `length` points, and an object not seen for `length` frames is
// forgotten. One stream, not locked.
class TrailHistory {
 public:
  // Adds the frame's regions and returns the paths to draw (length 0: none, and nothing is kept).
  std::vector<Trail> update(const std::vector<Region>& regions, const PaintStyle& style, unsigned length);
  void reset() { paths_.clear(); }

 private:
  struct Path {
    std::deque<cv::Point> points;
    Rgb colour{};
    unsigned unseen = 0;
  };
  std::map<int, Path> paths_;
};

// The banner text of a region under `style` ("" when it shows nothing).
std::string region_caption(const Region& region, const PaintStyle& style);

// Where the caption banner of a region goes in a width x height frame when nothing is in the way: left-aligned
// with the box and resting on its top edge, moved inside the box when there is no room above, shifted left to stay
// inside the frame, clipped to it. Empty when the region shows no caption or its box lies outside the frame.
cv::Rect caption_rect(const Region& region, const PaintStyle& style, int width, int height);

// The caption banners of all regions, in order, placed so that they do not overlap each other: each region (the
// first, most confident, first) takes caption_rect() when it is free, else the first free place among inside
// its box's top, below the box, inside its bottom and then further above, further below; when none is free,
// the place overlapping the others least.
std::vector<cv::Rect> caption_layout(const std::vector<Region>& regions, const PaintStyle& style, int width,
                                     int height);

// Paints onto a frame of one format family; chosen once per format by painter_for(). Fresh boxes get a solid
// outline of style.thickness; stale and predicted ones (Region::stale, Region::predicted) a dashed one of half
// that, so that a viewer can tell them apart.
using PaintFunction = void (*)(GstVideoFrame* frame, const std::vector<Region>& regions, const PaintStyle& style,
                               const std::vector<Trail>& trails);

// The painter for `format`, or nullptr for a format not handled (packed 3/4-byte RGB and the 4:2:0 YUV formats).
PaintFunction painter_for(GstVideoFormat format);

}  // namespace retinanet::gst
