#include "model/training/train_data.h"

#include <algorithm>
#include <map>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>

#include "common/model_error.h"

namespace retinanet {

SampleSource synthetic_source(const SceneGenerator& generator, const ModelConfig& config, uint64_t seed) {
  return [generator, config, seed](uint64_t index) {
    const Scene scene = generator.generate(seed * 1000003ull + index);
    return make_train_sample(scene.bgr, scene.objects, config);
  };
}

SampleSource coco_source(const CocoDataset& dataset, const std::string& image_dir, const ModelConfig& config,
                         uint64_t seed, const AugmentOptions& augment) {
  return [dataset, image_dir, config, seed, augment](uint64_t index) {
    const uint64_t n = dataset.images.size();
    const uint64_t epoch = index / n;
    std::vector<uint64_t> order(n);
    for (uint64_t i = 0; i < n; ++i) order[i] = i;
    std::mt19937_64 rng(seed + epoch);
    std::shuffle(order.begin(), order.end(), rng);
    const CocoImage& image = dataset.images[order[index % n]];
    const std::string path = image_dir + "/" + image.file_name;
    cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
    if (bgr.empty()) throw ModelError("cannot read image '" + path + "'");
    return make_train_sample(bgr, image.objects, config, draw_augmentation(augment, config.min_size, seed, index));
  };
}

Prefetcher::Prefetcher(SampleSource source, uint64_t first, int workers, size_t capacity)
    : source_(std::move(source)), capacity_(capacity), next_to_claim_(first), next_to_return_(first) {
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  space_.notify_all();
  for (auto& t : threads_) t.join();
}

void Prefetcher::work() {
  cv::setNumThreads(1);  // the training step owns the cores' worth of intra-op threads
  for (;;) {
    uint64_t index;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_.wait(lock, [&] { return stopping_ || next_to_claim_ - next_to_return_ < capacity_; });
      if (stopping_) return;
      index = next_to_claim_++;
    }
    try {
      TrainSample sample = source_(index);
      std::lock_guard<std::mutex> lock(mutex_);
      done_.emplace(index, std::move(sample));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    ready_.notify_all();
  }
}

TrainSample Prefetcher::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait(lock, [&] { return error_ || done_.count(next_to_return_); });
  if (error_) std::rethrow_exception(error_);
  TrainSample sample = std::move(done_.at(next_to_return_));
  done_.erase(next_to_return_++);
  lock.unlock();
  space_.notify_all();
  return sample;
}

}  // namespace retinanet
