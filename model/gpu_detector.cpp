#include "model/gpu_detector.h"

#include <ATen/Context.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "cuda/cuda_check.h"
#include "cuda/gather_detections.h"
#include "cuda/preprocess.h"
#include "model/anchors.h"
#include "model/gpu_frame.h"
#include "model/gpu_postprocess.h"
#include "model/model_error.h"
#include "model/transform.h"

namespace retinanet {

struct GpuDetector::State {
  State(RetinaNet n, const ModelConfig& c, torch::Device d, bool h)
      : net(std::move(n)),
        config(c),
        device(d),
        half(h),
        stream(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, d.index())),
        uploader(d),
        postprocess(make_cell_anchors(c), d) {}

  RetinaNet net;
  ModelConfig config;
  torch::Device device;
  bool half;
  c10::cuda::CUDAStream stream;
  GpuFrameUploader uploader;
  GpuPostprocess postprocess;
  torch::Tensor result_device;  // at least detections_buffer_bytes(detections_per_img) on the device
  torch::Tensor result_host;    // as many in pinned memory
};

GpuDetector::GpuDetector(RetinaNet net, const ModelConfig& config, torch::Device device, bool half) {
  const c10::cuda::CUDAGuard device_guard(device);
  // cuDNN picks the fastest convolution algorithm per input shape (a stream keeps one shape).
  at::globalContext().setBenchmarkCuDNN(true);
  // The weights go to the device once, in the network's precision; the batch norms are then folded there (in
  // float16 for a float16 network, as torchvision's model.half() computes its frozen batch norms).
  net->to(device, half ? torch::kHalf : torch::kFloat32);
  net->prepare_inference(/*pack=*/false);
  state_ = std::make_unique<State>(std::move(net), config, device, half);
}

GpuDetector::~GpuDetector() = default;

std::vector<Detection> GpuDetector::detect(const ImageView& frame, const PostprocessOptions& options) {
  check_frame(frame);
  State& s = *state_;
  const ModelConfig& c = s.config;
  c10::InferenceMode inference;
  const c10::cuda::CUDAGuard device_guard(s.device);
  // Every LibTorch op below (and the caching allocator's reuse of freed blocks) is ordered on the detector's stream.
  const c10::cuda::CUDAStreamGuard stream_guard(s.stream);
  const cudaStream_t stream = s.stream.stream();

  FrameGeometry geometry;
  geometry.frame = {frame.height, frame.width};
  geometry.resized = resized_size(frame.height, frame.width, c.min_size, c.max_size);
  if (geometry.resized.first < 1 || geometry.resized.second < 1)
    throw ModelError("image of " + std::to_string(frame.width) + "x" + std::to_string(frame.height) +
                     " pixels is too thin to resize");
  auto pad = [](int64_t v) { return (v + kSizeDivisible - 1) / kSizeDivisible * kSizeDivisible; };
  geometry.padded = {pad(geometry.resized.first), pad(geometry.resized.second)};

  PreprocessParams params;
  params.resized_h = static_cast<int>(geometry.resized.first);
  params.resized_w = static_cast<int>(geometry.resized.second);
  params.padded_h = static_cast<int>(geometry.padded.first);
  params.padded_w = static_cast<int>(geometry.padded.second);
  for (int i = 0; i < 3; ++i) {
    params.mean[i] = c.image_mean.at(i);
    params.std[i] = c.image_std.at(i);
  }
  const ImageView on_device = s.uploader.upload(frame, stream);
  // [1, 3, H_pad, W_pad], normalised and zero-padded by the kernel.
  const torch::Tensor input = torch::empty({1, 3, geometry.padded.first, geometry.padded.second},
                                           torch::TensorOptions()
                                               .dtype(s.half ? torch::kHalf : torch::kFloat32)
                                               .device(s.device));
  preprocess(on_device, params, input.data_ptr(), s.half ? InputType::kFloat16 : InputType::kFloat32, stream);

  const HeadOutputs out = s.net->forward(input);
  // Per level [H_l * W_l * A, K] logits and [H_l * W_l * A, 4] deltas of the one image, as float32.
  std::vector<torch::Tensor> logits, deltas;
  for (size_t l = 0; l < out.class_logits.size(); ++l) {
    logits.push_back(out.class_logits[l][0].to(torch::kFloat32).contiguous());
    deltas.push_back(out.box_deltas[l][0].to(torch::kFloat32).contiguous());
  }
  // The packed detections: grown when set_thresholds raises the cap.
  const auto bytes = static_cast<int64_t>(detections_buffer_bytes(options.detections_per_img));
  if (!s.result_device.defined() || s.result_device.numel() < bytes) {
    s.result_device = torch::empty({bytes}, torch::TensorOptions().dtype(torch::kUInt8).device(s.device));
    s.result_host = torch::empty({bytes}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(true));
  }
  s.postprocess.run(logits, deltas, out.grid_sizes, geometry, options, s.result_device.data_ptr(), stream);

  // The one copy back and the one wait of the frame.
  RETINANET_CUDA_CHECK(cudaMemcpyAsync(s.result_host.data_ptr(), s.result_device.data_ptr(),
                                       static_cast<size_t>(bytes), cudaMemcpyDeviceToHost, stream));
  RETINANET_CUDA_CHECK(cudaStreamSynchronize(stream));

  const auto* packed = static_cast<const char*>(s.result_host.data_ptr());
  const int count = *reinterpret_cast<const int32_t*>(packed);
  const auto* records = reinterpret_cast<const DetectionRecord*>(packed + kDetectionsHeaderBytes);
  std::vector<Detection> detections(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    const DetectionRecord& r = records[i];
    Detection& d = detections[static_cast<size_t>(i)];
    d.label = r.label;
    d.name = c.label_name(r.label);
    d.score = r.score;
    d.x1 = r.x1, d.y1 = r.y1, d.x2 = r.x2, d.y2 = r.y2;
  }
  return detections;
}

}  // namespace retinanet
