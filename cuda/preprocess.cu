#include "cuda/preprocess.h"

#include <cuda_fp16.h>

#include "cuda/cuda_check.h"

namespace retinanet {

namespace {

__device__ __forceinline__ float to_output(float v, float*) { return v; }
__device__ __forceinline__ __half to_output(float v, __half*) { return __float2half_rn(v); }

// One thread per output pixel, writing its three channels.
template <typename T>
__global__ void preprocess_kernel(ImageView frame, PreprocessParams params, T* out) {
  const int col = blockIdx.x * blockDim.x + threadIdx.x;
  const int row = blockIdx.y * blockDim.y + threadIdx.y;
  if (row >= params.padded_h || col >= params.padded_w) return;
  float v[3];
  preprocess_pixel(frame, params, row, col, v);
  const size_t plane = static_cast<size_t>(params.padded_h) * params.padded_w;
  const size_t at = static_cast<size_t>(row) * params.padded_w + col;
  out[at] = to_output(v[0], out);
  out[plane + at] = to_output(v[1], out);
  out[2 * plane + at] = to_output(v[2], out);
}

}  // namespace

void preprocess(const ImageView& frame, const PreprocessParams& params, void* out, InputType type, cudaStream_t stream) {
  if (params.padded_h <= 0 || params.padded_w <= 0) return;
  const dim3 block(32, 8);
  const dim3 grid((params.padded_w + block.x - 1) / block.x, (params.padded_h + block.y - 1) / block.y);
  if (type == InputType::kFloat16)
    preprocess_kernel<<<grid, block, 0, stream>>>(frame, params, static_cast<__half*>(out));
  else
    preprocess_kernel<<<grid, block, 0, stream>>>(frame, params, static_cast<float*>(out));
  RETINANET_CUDA_CHECK_LAUNCH("preprocess_kernel");
}

}  // namespace retinanet
