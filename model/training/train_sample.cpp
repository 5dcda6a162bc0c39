#include "model/training/train_sample.h"

#include "common/model_error.h"
#include "model/inference/transform.h"

namespace retinanet {

TrainSample make_train_sample(const cv::Mat& bgr, const std::vector<LabeledBox>& objects, const ModelConfig& config,
                              const Augmentation& aug) {
  if (bgr.empty() || bgr.type() != CV_8UC3) throw ModelError("training image is empty or not 8-bit colour");
  const bool hflip = aug.hflip;
  const cv::Mat pixels = photometric_distort(bgr, aug);
  const auto view = ImageView::packed(PixelFormat::kBGR, pixels.cols, pixels.rows, pixels.data, pixels.step);
  torch::Tensor image = image_to_tensor(view);
  std::vector<float> coords;
  std::vector<int64_t> labels;
  for (const LabeledBox& b : objects) {
    coords.insert(coords.end(), {hflip ? bgr.cols - b.x2 : b.x1, b.y1, hflip ? bgr.cols - b.x1 : b.x2, b.y2});
    labels.push_back(b.label);
  }
  if (hflip) image = image.flip(2);
  TrainSample sample;
  sample.image = normalize_and_resize(image, config.image_mean, config.image_std,
                                      aug.short_side > 0 ? aug.short_side : config.min_size, config.max_size);
  const torch::Tensor boxes = torch::tensor(coords, torch::kFloat32).reshape({-1, 4});
  sample.target.boxes = rescale_boxes(boxes, {bgr.rows, bgr.cols}, {sample.image.size(1), sample.image.size(2)});
  sample.target.labels = torch::tensor(labels, torch::kInt64);
  return sample;
}

TrainBatch collate(const std::vector<TrainSample>& samples) {
  std::vector<torch::Tensor> images;
  TrainBatch batch;
  for (const TrainSample& s : samples) {
    images.push_back(s.image);
    batch.targets.push_back(s.target);
  }
  batch.images = pad_batch(images);
  return batch;
}

}  // namespace retinanet
