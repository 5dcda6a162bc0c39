// The detector core's public interface: a model file in, detections per frame out. This header pulls in no
// LibTorch, so GStreamer elements and tools that include it compile quickly.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/detection.h"
#include "common/image.h"
#include "model/files/config.h"

namespace retinanet {

// Zero or negative values mean "the model file's setting".
struct DetectorOptions {
  std::string weights;            // empty: the embedded default model
  std::string device = "auto";    // auto (a GPU when there is one), cpu, cuda, cuda:N
  bool half = false;              // on a GPU: the network in float16 (boxes and scores stay float32)
  int min_size = 0;
  int max_size = 0;
  float score_threshold = -1;
  float nms_threshold = -1;
  int max_detections = 0;
  int topk_candidates = 0;
  int threads = 0;                // LibTorch intra-op threads; 0: every core
  // A file renaming the labels (read_labels_file in class_options.h: one name per line, num_classes lines): the
  // names detections and config() carry; empty: the model file's.
  std::string labels_file;
};

// A loaded model on one device. detect() runs on the backend chosen at construction (model/inference/backend.h:
// the CPU, or a CUDA device in the GPU build).
// Score and NMS thresholds and the detection cap, with DetectorOptions' meaning (negative or zero: the model
// file's setting).
struct Thresholds {
  float score = -1;
  float nms = -1;
  int max_detections = 0;
  // Per-class score thresholds: num_classes entries (parse_class_thresholds in class_options.h), a negative one
  // meaning `score`; empty: the model file's class_score_thresh, if it has one. detect() and detect_batch()
  // without thresholds use the file's.
  std::vector<float> class_score;
  bool agnostic_nms = false;  // NMS across classes (torchvision.ops.nms over all boxes at once)

  bool operator==(const Thresholds& o) const {
    return score == o.score && nms == o.nms && max_detections == o.max_detections && class_score == o.class_score &&
           agnostic_nms == o.agnostic_nms;
  }
  bool operator!=(const Thresholds& o) const { return !(*this == o); }
};

class Detector {
 public:
  // Loads and checks the model; throws ModelError with a message naming the file and the reason.
  explicit Detector(const DetectorOptions& options);
  ~Detector();
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  // Detections on one frame, by decreasing score, boxes in the frame's pixels. Throws ModelError on a bad frame.
  std::vector<Detection> detect(const ImageView& image);

  // Detections on each frame, result i for frame i, each equal to detect(frames[i]) up to float rounding. Frames
  // of one size run as one batch through the network; frames of other sizes in batches of their own (a batch
  // needs one input size, and padding a smaller frame further would change its detections).
  std::vector<Detections> detect_batch(const std::vector<ImageView>& frames);
  // The same with thresholds per frame (streams sharing one detector keep their own), with set_thresholds'
  // meaning; throws ModelError for a threshold above 1.
  std::vector<Detections> detect_batch(const std::vector<ImageView>& frames, const std::vector<Thresholds>& thresholds);

  // Replaces the score and NMS thresholds and the detection cap for the detect() calls that follow, with
  // DetectorOptions' meaning (negative or zero: the model file's setting). Safe to call from any thread, also
  // while detect() runs: a detect() that has begun post-processing finishes with the values it began with.
  // Throws ModelError (and changes nothing) for a threshold above 1. Per-class thresholds and agnostic NMS stay.
  void set_thresholds(float score_threshold, float nms_threshold, int max_detections);

  // The model's settings with the options' overrides (and set_thresholds') applied. Read it on the thread that
  // calls set_thresholds.
  const ModelConfig& config() const;
  std::string device() const;  // "cpu", "cuda:0", ...

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether this build runs the detector on a GPU (a LibTorch with CUDA and the kernels in cuda/), device or not.
bool has_gpu_path();

}  // namespace retinanet
