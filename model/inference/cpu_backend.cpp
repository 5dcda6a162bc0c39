// The CPU backend: torchvision's GeneralizedRCNNTransform (transform.h), the network with its CPU weights packed
// for oneDNN, anchors per input size, and postprocess_detections, all through LibTorch on the host.
#include <torch/utils.h>

#include <map>

#include "model/inference/anchors.h"
#include "model/inference/backend.h"
#include "model/inference/transform.h"

namespace retinanet {

namespace {

class CpuBackend : public Backend {
 public:
  CpuBackend(RetinaNet net, const ModelConfig& config)
      : net_(std::move(net)), config_(config), cell_anchors_(make_cell_anchors(config)) {
    net_->prepare_inference(torch::hasMKLDNN());
  }

  std::string device() const override { return "cpu"; }

  std::vector<Detections> detect_batch(const std::vector<ImageView>& frames,
                                       const std::vector<PostprocessOptions>& options) override {
    c10::InferenceMode inference;
    const ModelConfig& c = config_;
    // The frames share one size, hence one resized size: [N, 3, H_pad, W_pad] padded as a batch of one would be.
    std::vector<torch::Tensor> resized;
    for (const ImageView& frame : frames)
      resized.push_back(preprocess_frame(frame, c.image_mean, c.image_std, c.min_size, c.max_size));
    const int64_t resized_h = resized[0].size(1), resized_w = resized[0].size(2);
    const torch::Tensor batch = pad_batch(resized);
    resized.clear();
    HeadOutputs out = net_->forward(batch);
    const std::vector<torch::Tensor>& anchors = grid_anchors(batch.size(2), batch.size(3), out.grid_sizes);

    std::vector<Detections> results;
    for (size_t i = 0; i < frames.size(); ++i) {
      std::vector<torch::Tensor> logits, deltas;  // per level [H_l * W_l * A, K] and [H_l * W_l * A, 4] of frame i
      for (size_t l = 0; l < out.class_logits.size(); ++l) {
        logits.push_back(out.class_logits[l][static_cast<int64_t>(i)]);
        deltas.push_back(out.box_deltas[l][static_cast<int64_t>(i)]);
      }
      RawDetections raw = postprocess_detections(logits, deltas, anchors, resized_h, resized_w, options[i]);
      const torch::Tensor boxes =
          rescale_boxes(raw.boxes, {resized_h, resized_w}, {frames[i].height, frames[i].width}).contiguous();
      const torch::Tensor labels = raw.labels.contiguous(), scores = raw.scores.contiguous();
      std::vector<DetectionRecord> records(static_cast<size_t>(boxes.size(0)));
      const float* b = boxes.data_ptr<float>();
      for (size_t k = 0; k < records.size(); ++k)
        records[k] = {b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3], scores.data_ptr<float>()[k],
                      static_cast<int32_t>(labels.data_ptr<int64_t>()[k])};
      results.push_back(detections_from_records(records.data(), records.size(), c));
    }
    return results;
  }

 private:
  // Grid anchors of a padded input size; a stream keeps one size, so the cache holds one entry in practice.
  const std::vector<torch::Tensor>& grid_anchors(int64_t height, int64_t width,
                                                 const std::vector<std::pair<int64_t, int64_t>>& grid_sizes) {
    const std::pair<int64_t, int64_t> padded{height, width};
    auto cached = anchor_cache_.find(padded);
    if (cached == anchor_cache_.end()) {
      if (anchor_cache_.size() > 8) anchor_cache_.clear();
      cached = anchor_cache_.emplace(padded, make_grid_anchors(cell_anchors_, height, width, grid_sizes)).first;
    }
    return cached->second;
  }

  RetinaNet net_;
  const ModelConfig config_;
  std::vector<torch::Tensor> cell_anchors_;
  std::map<std::pair<int64_t, int64_t>, std::vector<torch::Tensor>> anchor_cache_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(RetinaNet net, const ModelConfig& config) {
  return std::make_unique<CpuBackend>(std::move(net), config);
}

}  // namespace retinanet
