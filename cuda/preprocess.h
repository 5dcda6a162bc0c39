// Pre-processing on the GPU: a frame in any PixelFormat (device pointers, strided) to the network input
// [3, padded_h, padded_w] float32 (RGB, normalised, bilinear-resized, zero-padded) in one pass.
#pragma once

#include <cuda_runtime_api.h>

#include "common/preprocess_math.h"
#include "common/image.h"

namespace retinanet {

// The element type of the network input.
enum class InputType { kFloat32, kFloat16 };

// frame: planes in device memory; out: device [3, params.padded_h, params.padded_w] of `type` (float16 rounded to
// nearest from the float32 value, as torch's .to(torch::kHalf)).
void preprocess(const ImageView& frame, const PreprocessParams& params, void* out, InputType type, cudaStream_t stream);

}  // namespace retinanet
