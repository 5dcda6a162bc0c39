// Where retinanet-train's samples come from: the synthetic scene generator or a COCO set on disk, prepared on a
// worker thread ahead of the training step so that data preparation overlaps the network's work.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "model/training/augment.h"
#include "model/training/coco.h"
#include "model/training/synthetic_scene.h"
#include "model/training/train_sample.h"

namespace retinanet {

// Produces sample `index` (any index >= 0; deterministic for a given seed).
using SampleSource = std::function<TrainSample(uint64_t index)>;

SampleSource synthetic_source(const SceneGenerator& generator, const ModelConfig& config, uint64_t seed);
// Images read from `image_dir`, visited in a shuffled order per epoch, augmented as `augment` says (augment.h).
SampleSource coco_source(const CocoDataset& dataset, const std::string& image_dir, const ModelConfig& config,
                         uint64_t seed, const AugmentOptions& augment = {});

// Runs `source` on worker threads for consecutive indices from `first`, keeping up to `capacity` samples ready.
class Prefetcher {
 public:
  Prefetcher(SampleSource source, uint64_t first, int workers, size_t capacity);
  ~Prefetcher();
  TrainSample next();  // rethrows a worker's exception

 private:
  void work();
  SampleSource source_;
  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::map<uint64_t, TrainSample> done_;  // by index, so the order is deterministic whatever the thread timing
  std::exception_ptr error_;
  uint64_t next_to_claim_, next_to_return_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace retinanet
