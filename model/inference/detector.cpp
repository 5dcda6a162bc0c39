#include "model/inference/detector.h"

#include <torch/utils.h>

#include <mutex>
#include <thread>

#include "common/model_error.h"
#include "model/inference/backend.h"
#include "model/inference/class_options.h"
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

// A per-class list given for this model: one entry per class.
void check_class_count(const char* what, size_t count, int num_classes) {
  if (static_cast<int>(count) != num_classes)
    throw ModelError(std::string(what) + ": " + std::to_string(count) + " given for a model of " +
                     std::to_string(num_classes) + " classes");
}

// Per-class thresholds with `score` in place of the negative ("not named") entries; empty when none are set or
// all equal `score` (then the plain postprocess runs, bit-identical to torchvision's).
std::vector<float> resolved_class_thresholds(const std::vector<float>& chosen, float score, int num_classes) {
  if (chosen.empty()) return {};
  check_class_count("per-class score thresholds", chosen.size(), num_classes);
  std::vector<float> resolved(chosen.size());
  bool differs = false;
  for (size_t c = 0; c < chosen.size(); ++c) {
    if (chosen[c] > 1) throw ModelError("per-class score thresholds must lie in [0, 1]");
    resolved[c] = chosen[c] >= 0 ? chosen[c] : score;
    differs = differs || resolved[c] != score;
  }
  return differs ? resolved : std::vector<float>();
}

void apply_overrides(ModelConfig& config, const DetectorOptions& o) {
  if (!o.labels_file.empty()) config.labels = read_labels_file(o.labels_file, config.num_classes);
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
    return options_of(config, config.class_score_thresh, false);
  }
  // A caller's thresholds over the model file's settings.
  PostprocessOptions postprocess_options(const Thresholds& t) const {
    ModelConfig resolved = config;
    apply_thresholds(resolved, file_config, t.score, t.nms, t.max_detections);
    return options_of(resolved, t.class_score.empty() ? config.class_score_thresh : t.class_score, t.agnostic_nms);
  }
  static PostprocessOptions options_of(const ModelConfig& c, const std::vector<float>& class_score, bool agnostic) {
    return {c.score_thresh, c.nms_thresh, c.detections_per_img, c.topk_candidates,
            resolved_class_thresholds(class_score, c.score_thresh, c.num_classes), agnostic};
  }

  // Frames grouped by size, one backend batch per size, results back in the frames' order.
  std::vector<Detections> run(const std::vector<ImageView>& frames, const std::vector<PostprocessOptions>& options) {
    std::vector<Detections> results(frames.size());
    std::vector<bool> done(frames.size(), false);
    for (size_t first = 0; first < frames.size(); ++first) {
      if (done[first]) continue;
      std::vector<size_t> group;
      for (size_t i = first; i < frames.size(); ++i)
        if (!done[i] && frames[i].width == frames[first].width && frames[i].height == frames[first].height) {
          group.push_back(i);
          done[i] = true;
        }
      std::vector<ImageView> batch;
      std::vector<PostprocessOptions> batch_options;
      for (size_t i : group) {
        batch.push_back(frames[i]);
        batch_options.push_back(options[i]);
      }
      std::vector<Detections> got = backend->detect_batch(batch, batch_options);
      for (size_t k = 0; k < group.size(); ++k) results[group[k]] = std::move(got[k]);
    }
    return results;
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
  return std::move(impl_->backend->detect_batch({image}, {impl_->postprocess_options()})[0]);
}

std::vector<Detections> Detector::detect_batch(const std::vector<ImageView>& frames) {
  for (const ImageView& frame : frames) check_frame(frame);
  return impl_->run(frames, std::vector<PostprocessOptions>(frames.size(), impl_->postprocess_options()));
}

std::vector<Detections> Detector::detect_batch(const std::vector<ImageView>& frames,
                                               const std::vector<Thresholds>& thresholds) {
  if (thresholds.size() != frames.size())
    throw ModelError("detect_batch: " + std::to_string(thresholds.size()) + " threshold sets for " +
                     std::to_string(frames.size()) + " frames");
  for (const ImageView& frame : frames) check_frame(frame);
  std::vector<PostprocessOptions> options;
  {
    std::lock_guard<std::mutex> lock(impl_->thresholds_mutex);  // config's thresholds are the fallback's base
    for (const Thresholds& t : thresholds) options.push_back(impl_->postprocess_options(t));
  }
  return impl_->run(frames, options);
}

}  // namespace retinanet
