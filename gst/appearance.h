// retinanettrack's appearance cue: a colour descriptor of each detection's box, read from the frame's pixels in
// any of the detector's eight formats (tracking/appearance.h says what the tracker does with it).
#pragma once

#include <vector>

#include "common/image.h"
#include "tracking/box.h"

namespace retinanet::gst {

// Samples per side of a box's grid, at most: a descriptor reads at most kAppearanceGrid^2 pixels, whatever the
// box's size.
constexpr int kAppearanceGrid = 16;

// A normalised joint RGB histogram (tracking::kAppearanceSize bins, soft-binned: each sample is shared between
// the 8 bins around its colour, so that a colour near a bin's edge does not flip between bins from frame to
// frame) of a grid of samples over the middle half of `box` (in each direction: the middle of a shape's box is
// mostly the shape, its corners mostly background), in frame pixels. YUV frames are converted to RGB as the
// detector converts them (model/inference/transform's yuv_to_rgb, BT.601), sample by sample. Empty for a box
// with no pixel inside the frame.
std::vector<float> appearance_descriptor(const ImageView& image, const tracking::Box& box);

}  // namespace retinanet::gst
