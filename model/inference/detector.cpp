#include "model/inference/detector.h"

#include <torch/utils.h>

#include <mutex>
#include <thread>

#include "common/model_error.h"
#include "model/inference/backend.h"
#include "model/inference/device.h"
#include "model/inference/transform.h"
#include "model/network/model_loader.h"

namespace retinanet {

namespace {

// The backend for the requested device: auto takes the first GPU when the build and the machine have one.
std::unique_ptr<Backend> make_backend(const std::string& device_text, RetinaNet net, const ModelConfig& config,
                                      bool half) {
  const DeviceRequest request = parse_device(device_text);
  const int gpus = cuda_device_count();
  if (request.kind == DeviceRequest::Kind::kCpu || (request.kind == DeviceRequest::Kind::kAuto && gpus == 0)) {
    if (half) throw ModelError("half (float16) runs on a CUDA device only, not on the CPU");
    return make_cpu_backend(std::move(net), config);
  }
  if (request.kind == DeviceRequest::Kind::kCuda) {
    if (gpus == 0) throw ModelError("device '" + device_text + "' requested but " + no_gpu_reason());
    if (request.index >= gpus)
      throw ModelError("device '" + device_text + "' does not exist: " + std::to_string(gpus) +
                       " CUDA device(s) present");
  }
  return make_cuda_backend(std::move(net), config, request.index, half);
}

// The thresholds part of the overrides, `file` holding the model file's settings; shared with set_thresholds.
// `config` is left as it was when the result is refused.
void apply_thresholds(ModelConfig& config, const ModelConfig& file, float score, float nms, int max_detections) {
  const float score_thresh = score >= 0 ? score : file.score_thresh;
  const float nms_thresh = nms >= 0 ? nms : file.nms_thresh;
  if (score_thresh > 1 || nms_thresh > 1) throw ModelError("score and NMS thresholds must lie in [0, 1]");
  config.score_thresh = score_thresh;
  config.nms_thresh = nms_thresh;
  config.detections_per_img = max_detections > 0 ? max_detections : file.detections_per_img;
}

void apply_overrides(ModelConfig& config, const DetectorOptions& o) {
  if (o.min_size > 0) config.min_size = o.min_size;
  if (o.max_size > 0) config.max_size = o.max_size;
  apply_thresholds(config, ModelConfig(config), o.score_threshold, o.nms_threshold, o.max_detections);
  if (o.topk_candidates > 0) config.topk_candidates = o.topk_candidates;
}

}  // namespace

struct Detector::Impl {
  ModelConfig config;
  ModelConfig file_config;       // the model file's own settings, what set_thresholds falls back to
  std::mutex thresholds_mutex;   // guards config's score_thresh, nms_thresh and detections_per_img
  std::unique_ptr<Backend> backend;

  // The thresholds as they are now: one detect() post-processes with one consistent set.
  PostprocessOptions postprocess_options() {
    std::lock_guard<std::mutex> lock(thresholds_mutex);
    return {config.score_thresh, config.nms_thresh, config.detections_per_img, config.topk_candidates};
  }
};

Detector::Detector(const DetectorOptions& options) : impl_(std::make_unique<Impl>()) {
  // A malformed device, or float16 on the CPU, is refused before the model is read.
  if (parse_device(options.device).kind == DeviceRequest::Kind::kCpu && options.half)
    throw ModelError("half (float16) runs on a CUDA device only, not on the CPU");
  const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (threads > 0) torch::set_num_threads(threads);

  LoadedModel model = load_model(options.weights);
  impl_->file_config = model.net->config();
  ModelConfig config = model.net->config();
  apply_overrides(config, options);
  impl_->config = config;
  impl_->backend = make_backend(options.device, std::move(model.net), config, options.half);
}

Detector::~Detector() = default;

const ModelConfig& Detector::config() const { return impl_->config; }

std::string Detector::device() const { return impl_->backend->device(); }

void Detector::set_thresholds(float score_threshold, float nms_threshold, int max_detections) {
  std::lock_guard<std::mutex> lock(impl_->thresholds_mutex);
  apply_thresholds(impl_->config, impl_->file_config, score_threshold, nms_threshold, max_detections);
}

std::vector<Detection> Detector::detect(const ImageView& image) {
  check_frame(image);
  return impl_->backend->detect(image, impl_->postprocess_options());
}

}  // namespace retinanet
