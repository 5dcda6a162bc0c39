// Pre-processing on the GPU: a frame in any PixelFormat (device pointers, strided) to the network input
// [3, padded_h, padded_w] float32 (RGB, normalised, bilinear-resized, zero-padded) in one pass.
#pragma once

#include <cuda_runtime_api.h>

#include "cuda/preprocess_math.h"
#include "model/image.h"

namespace retinanet {

// frame: planes in device memory; out: device [3, params.padded_h, params.padded_w] float32.
void preprocess(const ImageView& frame, const PreprocessParams& params, float* out, cudaStream_t stream);

}  // namespace retinanet
