// The CUDA backend (backend.h): the frame uploaded from pinned memory on the detector's own stream, pre-processed by
// the `preprocess` kernel straight into the network input (float32 or float16), the network run through LibTorch
// (cuDNN, benchmark mode), post-processed by the kernels in cuda/ (GpuPostprocess), and the detections copied back
// in one small transfer, the frame's only wait for the device. Built only with a CUDA LibTorch and nvcc.
#include <ATen/Context.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/cuda.h>

#include <algorithm>
#include <deque>

#include "common/model_error.h"
#include "cuda/cuda_check.h"
#include "cuda/preprocess.h"
#include "model/gpu/gpu_frame.h"
#include "model/gpu/gpu_postprocess.h"
#include "model/inference/anchors.h"
#include "model/inference/backend.h"
#include "model/inference/detector.h"
#include "model/inference/transform.h"

namespace retinanet {

namespace {

class GpuBackend : public Backend {
 public:
  // net: loaded, on the host; it is moved to `device` once (weights stay there), its batch norms folded, and with
  // `half` converted to float16 (boxes and scores stay float32).
  GpuBackend(RetinaNet net, const ModelConfig& config, torch::Device device, bool half)
      : net_(prepared(std::move(net), device, half)),
        config_(config),
        device_(device),
        half_(half),
        stream_(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index())),
        postprocess_(make_cell_anchors(config), device) {}

  std::string device() const override { return device_.str(); }

  std::vector<Detections> detect_batch(const std::vector<ImageView>& frames,
                                       const std::vector<PostprocessOptions>& options) override {
    const ModelConfig& c = config_;
    c10::InferenceMode inference;
    const c10::cuda::CUDAGuard device_guard(device_);
    // Every LibTorch op below (and the caching allocator's reuse of freed blocks) is ordered on the detector's stream.
    const c10::cuda::CUDAStreamGuard stream_guard(stream_);
    const cudaStream_t stream = stream_.stream();
    const auto batch = static_cast<int64_t>(frames.size());

    // The frames share one size, hence one geometry.
    const InputGeometry geometry = input_geometry(frames[0].height, frames[0].width, c.min_size, c.max_size);
    PreprocessParams params;
    params.resized_h = static_cast<int>(geometry.resized.first);
    params.resized_w = static_cast<int>(geometry.resized.second);
    params.padded_h = static_cast<int>(geometry.padded.first);
    params.padded_w = static_cast<int>(geometry.padded.second);
    for (int i = 0; i < 3; ++i) {
      params.mean[i] = c.image_mean.at(i);
      params.std[i] = c.image_std.at(i);
    }
    // [N, 3, H_pad, W_pad], each frame normalised and zero-padded by the kernel into its slice. One uploader per
    // frame of the batch: each keeps its pinned and device buffers until the stream has read them.
    const torch::Tensor input = torch::empty({batch, 3, geometry.padded.first, geometry.padded.second},
                                             torch::TensorOptions()
                                                 .dtype(half_ ? torch::kHalf : torch::kFloat32)
                                                 .device(device_));
    while (uploaders_.size() < frames.size()) uploaders_.emplace_back(device_);
    for (int64_t i = 0; i < batch; ++i) {
      const ImageView on_device = uploaders_[static_cast<size_t>(i)].upload(frames[static_cast<size_t>(i)], stream);
      preprocess(on_device, params, input[i].data_ptr(), half_ ? InputType::kFloat16 : InputType::kFloat32, stream);
    }

    const HeadOutputs out = net_->forward(input);
    // One packed result per frame, side by side, grown when set_thresholds raises a cap.
    size_t slot_bytes = 0;
    for (const PostprocessOptions& o : options) slot_bytes = std::max(slot_bytes, detections_buffer_bytes(o.detections_per_img));
    slot_bytes = (slot_bytes + 255) / 256 * 256;  // each slot aligned for the kernels' records
    const auto bytes = static_cast<int64_t>(slot_bytes * frames.size());
    if (!result_device_.defined() || result_device_.numel() < bytes) {
      result_device_ = torch::empty({bytes}, torch::TensorOptions().dtype(torch::kUInt8).device(device_));
      result_host_ = torch::empty({bytes}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(true));
    }
    auto* device_slots = static_cast<char*>(result_device_.data_ptr());
    for (int64_t i = 0; i < batch; ++i) {
      // Per level [H_l * W_l * A, K] logits and [H_l * W_l * A, 4] deltas of frame i, as float32.
      std::vector<torch::Tensor> logits, deltas;
      for (size_t l = 0; l < out.class_logits.size(); ++l) {
        logits.push_back(out.class_logits[l][i].to(torch::kFloat32).contiguous());
        deltas.push_back(out.box_deltas[l][i].to(torch::kFloat32).contiguous());
      }
      postprocess_.run(logits, deltas, out.grid_sizes, geometry, options[static_cast<size_t>(i)],
                       device_slots + static_cast<size_t>(i) * slot_bytes, stream);
    }

    // The one copy back and the one wait of the batch.
    RETINANET_CUDA_CHECK(cudaMemcpyAsync(result_host_.data_ptr(), result_device_.data_ptr(),
                                         static_cast<size_t>(bytes), cudaMemcpyDeviceToHost, stream));
    RETINANET_CUDA_CHECK(cudaStreamSynchronize(stream));

    std::vector<Detections> results;
    const auto* host_slots = static_cast<const char*>(result_host_.data_ptr());
    for (size_t i = 0; i < frames.size(); ++i) {
      const char* packed = host_slots + i * slot_bytes;
      const int count = *reinterpret_cast<const int32_t*>(packed);
      const auto* records = reinterpret_cast<const DetectionRecord*>(packed + kDetectionsHeaderBytes);
      results.push_back(detections_from_records(records, static_cast<size_t>(count), c));
    }
    return results;
  }

 private:
  static RetinaNet prepared(RetinaNet net, torch::Device device, bool half) {
    const c10::cuda::CUDAGuard device_guard(device);
    // cuDNN picks the fastest convolution algorithm per input shape (a stream keeps one shape).
    at::globalContext().setBenchmarkCuDNN(true);
    // The weights go to the device once, in the network's precision; the batch norms are then folded there (in
    // float16 for a float16 network, as torchvision's model.half() computes its frozen batch norms).
    net->to(device, half ? torch::kHalf : torch::kFloat32);
    net->prepare_inference(/*pack=*/false);
    return net;
  }

  RetinaNet net_;
  const ModelConfig config_;
  const torch::Device device_;
  const bool half_;
  c10::cuda::CUDAStream stream_;
  std::deque<GpuFrameUploader> uploaders_;  // one per frame of the largest batch so far
  GpuPostprocess postprocess_;
  torch::Tensor result_device_;  // at least detections_buffer_bytes(detections_per_img) on the device
  torch::Tensor result_host_;    // as many in pinned memory
};

}  // namespace

bool has_gpu_path() { return true; }

int cuda_device_count() { return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0; }

std::string no_gpu_reason() { return "no CUDA device is present"; }

std::unique_ptr<Backend> make_cuda_backend(RetinaNet net, const ModelConfig& config, int device_index, bool half) {
  return std::make_unique<GpuBackend>(std::move(net), config, torch::Device(torch::kCUDA, device_index), half);
}

}  // namespace retinanet
