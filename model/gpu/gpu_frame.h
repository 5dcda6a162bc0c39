// Frames to the GPU: a host frame's planes are packed into page-locked (pinned) memory, then copied to the device
// with one asynchronous copy on the detector's stream. The kernels read the device copy through an ImageView.
#pragma once

#include <cuda_runtime_api.h>
#include <torch/types.h>

#include "common/image.h"

namespace retinanet {

class GpuFrameUploader {
 public:
  explicit GpuFrameUploader(torch::Device device) : device_(device) {}

  // Starts the copy of `frame` (host memory, any PixelFormat and strides, already checked) on `stream` and returns
  // its view in device memory, rows packed. Both buffers are reused by the next call: the caller waits for the
  // stream between frames (the detector does, for its one copy of the detections).
  ImageView upload(const ImageView& frame, cudaStream_t stream);

 private:
  torch::Device device_;
  torch::Tensor pinned_;  // [bytes] uint8, page-locked host memory
  torch::Tensor device_buffer_;  // [bytes] uint8 on device_
};

}  // namespace retinanet
