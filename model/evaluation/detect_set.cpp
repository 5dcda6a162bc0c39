#include "model/evaluation/detect_set.h"

#include <opencv2/imgcodecs.hpp>

#include "common/model_error.h"

namespace retinanet {

std::vector<std::vector<ScoredBox>> detect_coco_set(Detector& detector, const std::string& image_dir,
                                                    const CocoDataset& truth) {
  std::vector<std::vector<ScoredBox>> out;
  for (const CocoImage& image : truth.images) {
    const std::string path = image_dir + "/" + image.file_name;
    const cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
    if (bgr.empty()) throw ModelError("cannot read image '" + path + "'");
    const auto found = detector.detect(ImageView::packed(PixelFormat::kBGR, bgr.cols, bgr.rows, bgr.data, bgr.step));
    out.emplace_back();
    for (const Detection& d : found) out.back().push_back({d.label, d.score, d.x1, d.y1, d.x2, d.y2});
  }
  return out;
}

}  // namespace retinanet
