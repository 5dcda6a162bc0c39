#include "model/gpu/gpu_frame.h"

#include <cstring>

#include "cuda/cuda_check.h"

namespace retinanet {

namespace {

// The rows and bytes per row of each plane of a frame (chroma planes of the YUV formats are halved, rounded up).
struct PlaneLayout {
  int count = 1;
  int rows[3] = {0, 0, 0};
  size_t row_bytes[3] = {0, 0, 0};
  size_t offset[3] = {0, 0, 0};  // in the packed buffer, each plane aligned
  size_t total = 0;
};

PlaneLayout plane_layout(const ImageView& frame) {
  PlaneLayout p;
  const int w = frame.width, h = frame.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  switch (frame.format) {
    case PixelFormat::kI420:
      p.count = 3;
      p.rows[0] = h, p.rows[1] = p.rows[2] = ch;
      p.row_bytes[0] = w, p.row_bytes[1] = p.row_bytes[2] = cw;
      break;
    case PixelFormat::kNV12:
      p.count = 2;
      p.rows[0] = h, p.rows[1] = ch;
      p.row_bytes[0] = w, p.row_bytes[1] = 2 * static_cast<size_t>(cw);
      break;
    default:
      p.rows[0] = h;
      p.row_bytes[0] = static_cast<size_t>(w) * packed_pixel_bytes(frame.format);
  }
  for (int i = 0; i < p.count; ++i) {
    p.offset[i] = p.total;
    p.total += align_workspace(p.row_bytes[i] * p.rows[i]);
  }
  return p;
}

}  // namespace

ImageView GpuFrameUploader::upload(const ImageView& frame, cudaStream_t stream) {
  const PlaneLayout layout = plane_layout(frame);
  const auto bytes = static_cast<int64_t>(layout.total);
  if (!pinned_.defined() || pinned_.numel() < bytes) {
    pinned_ = torch::empty({bytes}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(true));
    device_buffer_ = torch::empty({bytes}, torch::TensorOptions().dtype(torch::kUInt8).device(device_));
  }
  auto* host = pinned_.data_ptr<uint8_t>();
  auto* dev = device_buffer_.data_ptr<uint8_t>();
  ImageView view = frame;
  for (int i = 0; i < layout.count; ++i) {
    const uint8_t* src = frame.planes[i];
    uint8_t* dst = host + layout.offset[i];
    if (frame.strides[i] == layout.row_bytes[i]) {
      std::memcpy(dst, src, layout.row_bytes[i] * layout.rows[i]);
    } else {
      for (int r = 0; r < layout.rows[i]; ++r)
        std::memcpy(dst + r * layout.row_bytes[i], src + r * frame.strides[i], layout.row_bytes[i]);
    }
    view.planes[i] = dev + layout.offset[i];
    view.strides[i] = layout.row_bytes[i];
  }
  RETINANET_CUDA_CHECK(cudaMemcpyAsync(dev, host, layout.total, cudaMemcpyHostToDevice, stream));
  return view;
}

}  // namespace retinanet
