// torchvision's GeneralizedRCNNTransform for inference: the image to float RGB in [0, 1], normalise, bilinear resize
// (short side to min_size unless the long side would pass max_size), zero-pad to a multiple of 32; and the inverse
// mapping of boxes back to the original frame.
#pragma once

#include <torch/types.h>

#include <opencv2/core.hpp>

#include <utility>
#include <vector>

#include "common/image.h"

namespace retinanet {

// torchvision's size_divisible.
constexpr int64_t kSizeDivisible = 32;

// An I420 or NV12 frame of any size as 8-bit RGB [H, W, 3] through OpenCV (BT.601, limited range). OpenCV
// converts whole 2x2 chroma blocks only: an odd-sized frame is converted with its last row and column repeated
// (its chroma planes hold ceil(W/2) x ceil(H/2) samples, as GStreamer lays them out), then cropped.
cv::Mat yuv_to_rgb(const ImageView& image);

// Refuses (ModelError) an empty frame.
void check_frame(const ImageView& image);

// The frame as [3, H, W] float32 RGB in [0, 1] (ToTensor's scaling), on the host.
torch::Tensor image_to_tensor(const ImageView& image);

// _resize_image_and_masks' arithmetic: (height, width) after resizing, computed in float32 as torchvision does.
std::pair<int64_t, int64_t> resized_size(int64_t height, int64_t width, int min_size, int max_size);

// batch_images' rounding up to a multiple of kSizeDivisible.
inline int64_t padded_size(int64_t v) { return (v + kSizeDivisible - 1) / kSizeDivisible * kSizeDivisible; }

// Sizes of one frame's trip through the network: (height, width) pairs.
struct InputGeometry {
  std::pair<int64_t, int64_t> frame;    // the original frame
  std::pair<int64_t, int64_t> resized;  // after the resize (boxes are clipped to it)
  std::pair<int64_t, int64_t> padded;   // the network input, multiples of 32
};
// A frame so thin that a side would resize to 0 pixels (2000x1 at torchvision's 800/1333; 2000x2 at 128/213),
// which torchvision refuses, gets that side resized to 1 pixel instead: the frame is still analysed, stretched
// across its thin side. Every other size is torchvision's.
InputGeometry input_geometry(int64_t height, int64_t width, int min_size, int max_size);

// Normalise then resize as GeneralizedRCNNTransform does: image [3, H, W] in [0, 1] -> [3, h, w].
torch::Tensor normalize_and_resize(const torch::Tensor& image, const std::vector<float>& mean,
                                   const std::vector<float>& std, int min_size, int max_size);

// Frames of more pixels than this are resized straight from their 8-bit pixels (the host twin of the CUDA
// preprocessing, common/preprocess_math.h: within 1e-5 of torchvision's normalise-then-resize, which needs a
// float copy of the whole frame: 3 GB for 16384x16384); smaller ones take torchvision's exact path.
constexpr int64_t kDirectResizePixels = 4096 * 4096;

// The frame as the network's unpadded input [3, h, w]: image_to_tensor + normalize_and_resize, or the direct
// resize above `direct_above_pixels` (a parameter for tests).
torch::Tensor preprocess_frame(const ImageView& image, const std::vector<float>& mean, const std::vector<float>& std,
                               int min_size, int max_size, int64_t direct_above_pixels = kDirectResizePixels);

// batch_images: [3, h_i, w_i] images zero-padded into one [N, 3, H, W] batch, H and W multiples of 32.
torch::Tensor pad_batch(const std::vector<torch::Tensor>& images);

// transform.resize_boxes: boxes [D, 4] from the resized size to the original one (in place of a copy).
torch::Tensor rescale_boxes(const torch::Tensor& boxes, std::pair<int64_t, int64_t> from, std::pair<int64_t, int64_t> to);

}  // namespace retinanet
