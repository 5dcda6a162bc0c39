#include "model/gpu/gpu_postprocess.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <algorithm>
#include <limits>

#include "cuda/candidates.h"
#include "cuda/cuda_check.h"
#include "cuda/decode_boxes.h"
#include "cuda/gather_detections.h"
#include "cuda/nms.h"
#include "common/model_error.h"

namespace retinanet {

namespace {

// One frame's scratch, carved from a single device allocation (the caching allocator makes it cheap): the
// candidates of all levels side by side at fixed offsets (level l from offset[l], topk[l] entries, padding scored
// -infinity), their boxes, the NMS outputs, and a workspace the levels' candidate selections and the NMS share in
// turn (they run one after the other on the stream).
struct Scratch {
  int64_t* anchor_idx = nullptr;  // [total]
  int64_t* labels = nullptr;      // [total]
  float* scores = nullptr;        // [total]
  float* boxes = nullptr;         // [total, 4]
  int* counts = nullptr;          // [levels]
  int64_t* keep = nullptr;        // [total]
  int* num_keep = nullptr;        // [1]
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  size_t total_bytes = 0;

  Scratch(void* base, int total, int levels, size_t workspace_size) : workspace_bytes(workspace_size) {
    WorkspaceCarver carve(base);
    anchor_idx = carve.take<int64_t>(total);
    labels = carve.take<int64_t>(total);
    scores = carve.take<float>(total);
    boxes = carve.take<float>(4 * static_cast<size_t>(total));
    counts = carve.take<int>(levels);
    keep = carve.take<int64_t>(total);
    num_keep = carve.take<int>(1);
    workspace = carve.bytes(workspace_size);
    total_bytes = carve.total();
  }
};

}  // namespace

GpuPostprocess::GpuPostprocess(const std::vector<torch::Tensor>& cell_anchors, torch::Device device) : device_(device) {
  for (const torch::Tensor& cell : cell_anchors)
    cell_anchors_.push_back(cell.to(device, torch::kFloat32).contiguous());
}

void GpuPostprocess::run(const std::vector<torch::Tensor>& class_logits, const std::vector<torch::Tensor>& box_deltas,
                         const std::vector<std::pair<int64_t, int64_t>>& grid_sizes, const InputGeometry& geometry,
                         const PostprocessOptions& options, void* out, cudaStream_t stream) const {
  const int levels = static_cast<int>(class_logits.size());
  if (levels != static_cast<int>(cell_anchors_.size()) || box_deltas.size() != class_logits.size() ||
      grid_sizes.size() != class_logits.size())
    throw ModelError("GPU post-processing: the network gave " + std::to_string(levels) + " levels, the anchors " +
                     std::to_string(cell_anchors_.size()));
  // Per level: candidates kept (topk_candidates, at most the level's logits) and their offset.
  std::vector<int> topk(levels), offset(levels);
  int total = 0;
  size_t workspace = 0;
  for (int l = 0; l < levels; ++l) {
    const torch::Tensor& logits = class_logits[l];
    TORCH_CHECK(logits.is_cuda() && logits.is_contiguous() && logits.scalar_type() == torch::kFloat32 &&
                    box_deltas[l].is_contiguous() && box_deltas[l].scalar_type() == torch::kFloat32,
                "GPU post-processing takes contiguous float32 device tensors");
    const int64_t n = logits.numel();
    topk[l] = static_cast<int>(std::min<int64_t>(options.topk_candidates, n));
    offset[l] = total;
    total += topk[l];
    workspace = std::max(workspace, select_candidates_workspace_size(n));
  }
  workspace = std::max(workspace, batched_nms_workspace_size(total));
  const size_t bytes = Scratch(nullptr, total, levels, workspace).total_bytes;
  const torch::Tensor memory =
      torch::empty({static_cast<int64_t>(bytes)}, torch::TensorOptions().dtype(torch::kUInt8).device(device_));
  const Scratch s(memory.data_ptr(), total, levels, workspace);

  const float image_h = static_cast<float>(geometry.resized.first), image_w = static_cast<float>(geometry.resized.second);
  for (int l = 0; l < levels; ++l) {
    const torch::Tensor& logits = class_logits[l];
    const int num_classes = static_cast<int>(logits.size(-1));
    const int o = offset[l];
    select_candidates(logits.data_ptr<float>(), logits.numel(), num_classes, lowest_score_thresh(options), topk[l],
                      s.workspace, s.workspace_bytes, s.anchor_idx + o, s.labels + o, s.scores + o, s.counts + l,
                      stream);
    // Strides are integer divisions of the padded size, as in AnchorGenerator.forward. All topk[l] entries are
    // decoded (padding too, harmlessly): their number stays on the host, so nothing waits for the count.
    const auto [grid_h, grid_w] = grid_sizes[l];
    LevelGrid grid;
    grid.grid_w = static_cast<int>(grid_w);
    grid.stride_h = static_cast<int>(geometry.padded.first / grid_h);
    grid.stride_w = static_cast<int>(geometry.padded.second / grid_w);
    grid.num_anchors = static_cast<int>(cell_anchors_[l].size(0));
    decode_boxes(box_deltas[l].data_ptr<float>(), s.anchor_idx + o, topk[l], cell_anchors_[l].data_ptr<float>(), grid,
                 image_w, image_h, s.boxes + 4 * static_cast<size_t>(o), stream);
  }
  // Per-class thresholds (postprocess.h): the candidates selected at the lowest threshold that fail their class's
  // are made padding (-infinity), which batched_nms neither keeps nor counts, as the CPU path drops them.
  // Agnostic NMS: every candidate under one label for the NMS, the real labels kept for the output.
  torch::Tensor nms_labels;
  if (!options.class_score_thresh.empty() || options.agnostic_nms) {
    const c10::cuda::CUDAStreamGuard on_stream(c10::cuda::getStreamFromExternal(stream, device_.index()));
    const auto on_device = [&](auto type) { return torch::TensorOptions().dtype(type).device(device_); };
    const torch::Tensor labels = torch::from_blob(s.labels, {total}, on_device(torch::kInt64));
    if (!options.class_score_thresh.empty()) {
      if (static_cast<int64_t>(options.class_score_thresh.size()) != class_logits[0].size(-1))
        throw ModelError("per-class score thresholds: " + std::to_string(options.class_score_thresh.size()) +
                         " for a model of " + std::to_string(class_logits[0].size(-1)) + " classes");
      const torch::Tensor scores = torch::from_blob(s.scores, {total}, on_device(torch::kFloat32));
      const torch::Tensor thresholds = torch::tensor(options.class_score_thresh, torch::kFloat32).to(device_);
      scores.masked_fill_(passes_class_thresholds(scores, labels, thresholds).logical_not(),
                          -std::numeric_limits<float>::infinity());
    }
    if (options.agnostic_nms) nms_labels = torch::zeros({total}, on_device(torch::kInt64));
  }
  batched_nms(s.boxes, s.scores, nms_labels.defined() ? nms_labels.data_ptr<int64_t>() : s.labels, total,
              options.nms_thresh, s.workspace, s.workspace_bytes, s.keep, s.num_keep, stream);
  // transform.resize_boxes: original / resized as float divisions.
  const float ratio_h = static_cast<float>(geometry.frame.first) / image_h;
  const float ratio_w = static_cast<float>(geometry.frame.second) / image_w;
  gather_detections(s.keep, s.num_keep, s.boxes, s.scores, s.labels, options.detections_per_img, ratio_w, ratio_h,
                    out, stream);
}

}  // namespace retinanet
