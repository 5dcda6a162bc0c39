#include "model/detector.h"

#include <torch/cuda.h>
#include <torch/utils.h>

#include <map>
#include <mutex>
#include <thread>

#include "model/anchors.h"
#include "model/default_model.h"
#ifdef RETINANET_HAS_TORCH_CUDA
#include "model/gpu_detector.h"
#endif
#include "model/model_error.h"
#include "model/postprocess.h"
#include "model/retinanet.h"
#include "model/safetensors.h"
#include "model/transform.h"

namespace retinanet {

namespace {

// Where a request for a GPU is refused, and why, in one line.
std::string no_gpu_reason() {
#if defined(RETINANET_HAS_TORCH_CUDA)
  return "no CUDA device is present";
#elif defined(RETINANET_TORCH_CUDA_WITHOUT_NVCC)
  return "this build has no GPU path (its LibTorch has CUDA but nvcc was not found when it was configured)";
#else
  return "this build's LibTorch has no CUDA; build the GPU path with scripts/build-cuda.sh (a pip torch with CUDA) "
         "or meson -Dtorch_dir=<a CUDA LibTorch>";
#endif
}

bool gpu_available() {
#ifdef RETINANET_HAS_TORCH_CUDA
  return torch::cuda::is_available();
#else
  return false;
#endif
}

torch::Device choose_device(const std::string& name) {
  if (name == "auto" || name.empty()) return gpu_available() ? torch::Device("cuda:0") : torch::kCPU;
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    torch::Device device(torch::kCUDA, 0);
    if (name != "cuda") {
      try {
        device = torch::Device(name);
      } catch (const c10::Error&) {
        throw ModelError("device '" + name + "' is not of the form cuda:N");
      }
    }
    if (!gpu_available()) throw ModelError("device '" + name + "' requested but " + no_gpu_reason());
    if (device.index() >= static_cast<int>(torch::cuda::device_count()))
      throw ModelError("device '" + name + "' does not exist: " + std::to_string(torch::cuda::device_count()) +
                       " CUDA device(s) present");
    return device;
  }
  throw ModelError("unknown device '" + name + "' (expected auto, cpu, cuda or cuda:N)");
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
  torch::Device device{torch::kCPU};
  RetinaNet net{nullptr};
  std::vector<torch::Tensor> cell_anchors;
  // Grid anchors per padded input size; a stream keeps one size, so this holds one entry in practice.
  std::map<std::pair<int64_t, int64_t>, std::vector<torch::Tensor>> anchor_cache;
#ifdef RETINANET_HAS_TORCH_CUDA
  std::unique_ptr<GpuDetector> gpu;  // the frame path on a CUDA device
#endif

  // The thresholds as they are now: one detect() post-processes with one consistent set.
  PostprocessOptions postprocess_options() {
    std::lock_guard<std::mutex> lock(thresholds_mutex);
    return {config.score_thresh, config.nms_thresh, config.detections_per_img, config.topk_candidates};
  }
};

Detector::Detector(const DetectorOptions& options) : impl_(std::make_unique<Impl>()) {
  if (options.weights.empty() && !has_default_model())
    throw ModelError("no model given and this build has no embedded default model");
  const std::string path = options.weights.empty() ? kDefaultModelName : options.weights;
  impl_->device = choose_device(options.device);
  if (options.half && options.device == "cpu") throw ModelError("half (float16) runs on a CUDA device only, not on 'cpu'");
  const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (threads > 0) torch::set_num_threads(threads);

  TensorFile file = options.weights.empty() ? read_default_model() : read_safetensors(path);
  ModelConfig config;
  try {
    config = ModelConfig::from_metadata(file.metadata);
    find_arch(config.arch);
  } catch (const ModelError& e) {
    throw ModelError(path + ": " + e.what());
  }
  impl_->net = RetinaNet(config);
  impl_->net->load_tensors(file.tensors, path);
  impl_->file_config = config;
  apply_overrides(config, options);
  impl_->config = config;
#ifdef RETINANET_HAS_TORCH_CUDA
  if (impl_->device.is_cuda()) {
    impl_->gpu = std::make_unique<GpuDetector>(impl_->net, config, impl_->device, options.half);
    return;
  }
#endif
  impl_->net->prepare_inference(torch::hasMKLDNN());
  impl_->cell_anchors = make_cell_anchors(config);
}

Detector::~Detector() = default;

bool has_gpu_path() {
#ifdef RETINANET_HAS_TORCH_CUDA
  return true;
#else
  return false;
#endif
}

const ModelConfig& Detector::config() const { return impl_->config; }

std::string Detector::device() const { return impl_->device.str(); }

void Detector::set_thresholds(float score_threshold, float nms_threshold, int max_detections) {
  std::lock_guard<std::mutex> lock(impl_->thresholds_mutex);
  apply_thresholds(impl_->config, impl_->file_config, score_threshold, nms_threshold, max_detections);
}

std::vector<Detection> Detector::detect(const ImageView& image) {
#ifdef RETINANET_HAS_TORCH_CUDA
  if (impl_->gpu) return impl_->gpu->detect(image, impl_->postprocess_options());
#endif
  c10::InferenceMode inference;
  Impl& d = *impl_;
  const torch::Tensor pixels = image_to_tensor(image).to(d.device);
  const NetworkInput input = prepare_input(pixels, d.config.image_mean, d.config.image_std, d.config.min_size,
                                           d.config.max_size);
  HeadOutputs out = d.net->forward(input.batch);

  const std::pair<int64_t, int64_t> padded{input.batch.size(2), input.batch.size(3)};
  auto cached = d.anchor_cache.find(padded);
  if (cached == d.anchor_cache.end()) {
    if (d.anchor_cache.size() > 8) d.anchor_cache.clear();
    cached = d.anchor_cache.emplace(padded, make_grid_anchors(d.cell_anchors, padded.first, padded.second, out.grid_sizes))
                 .first;
  }
  std::vector<torch::Tensor> logits, deltas;
  for (size_t l = 0; l < out.class_logits.size(); ++l) {
    logits.push_back(out.class_logits[l][0]);
    deltas.push_back(out.box_deltas[l][0]);
  }
  const PostprocessOptions post = d.postprocess_options();
  RawDetections raw = postprocess_detections(logits, deltas, cached->second, input.resized_h, input.resized_w, post);
  const torch::Tensor boxes =
      rescale_boxes(raw.boxes, {input.resized_h, input.resized_w}, {image.height, image.width}).contiguous();

  std::vector<Detection> detections(boxes.size(0));
  const float* b = boxes.data_ptr<float>();
  const torch::Tensor labels = raw.labels.contiguous(), scores = raw.scores.contiguous();
  for (size_t i = 0; i < detections.size(); ++i) {
    Detection& det = detections[i];
    det.label = static_cast<int>(labels.data_ptr<int64_t>()[i]);
    det.name = d.config.label_name(det.label);
    det.score = scores.data_ptr<float>()[i];
    det.x1 = b[4 * i];
    det.y1 = b[4 * i + 1];
    det.x2 = b[4 * i + 2];
    det.y2 = b[4 * i + 3];
  }
  return detections;
}

}  // namespace retinanet
