// retinanet-detect: runs the detector on images and prints one JSON line per image (DESIGN.md's contract).
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "model/files/detection_json.h"
#include "model/inference/class_options.h"
#include "model/inference/detector.h"
#include "common/model_error.h"
#include "tools/cli_args.h"

namespace {

const char* kUsage =
    "usage: retinanet-detect [--weights FILE] [--device auto|cpu|cuda[:N]] [--half] [--min-size N] [--max-size N]\n"
    "                        [--score-threshold F] [--nms-threshold F] [--max-detections N]\n"
    "                        [--topk-candidates N] [--threads N] [--batch N]\n"
    "                        [--class-thresholds LABEL=F,...] [--agnostic-nms] [--labels-file FILE] IMAGE...\n"
    "       retinanet-detect --list-labels [--weights FILE] [--labels-file FILE]\n"
    "Detects objects in each IMAGE and prints one JSON line per image on stdout, in input order.\n"
    "Without --weights the embedded default model is used; sizes and thresholds default to the model file's.\n"
    "--half runs the network in float16 on a GPU (boxes and scores stay float32).\n"
    "--batch N runs up to N images per forward pass (images of one size together); the results are the same.\n"
    "--class-thresholds person=0.6,car=0.4: per-class score thresholds (label names or numbers); the classes not\n"
    "  named use --score-threshold. --agnostic-nms: NMS across classes (one label per object).\n"
    "--labels-file FILE renames the labels (one name per line, line i naming label i, one line per label).\n"
    "--list-labels prints the model's labels as 'index name' lines and exits.\n";

}  // namespace

int main(int argc, char** argv) {
  using retinanet::cli::ArgParser;
  retinanet::DetectorOptions options;
  std::vector<std::string> images;
  ArgParser args("retinanet-detect", kUsage);
  args.add_string("--weights", &options.weights);
  args.add_string("--device", &options.device);
  args.add_switch("--half", &options.half);
  args.add_int("--min-size", &options.min_size, 1);
  args.add_int("--max-size", &options.max_size, 1);
  args.add_float("--score-threshold", &options.score_threshold, 0, 1);
  args.add_float("--nms-threshold", &options.nms_threshold, 0, 1);
  args.add_int("--max-detections", &options.max_detections, 1);
  args.add_int("--topk-candidates", &options.topk_candidates, 1);
  args.add_int("--threads", &options.threads, 1);
  int batch = 1;
  args.add_int("--batch", &batch, 1, 256);
  std::string class_thresholds;
  args.add_string("--class-thresholds", &class_thresholds);
  bool agnostic_nms = false, list_labels = false;
  args.add_switch("--agnostic-nms", &agnostic_nms);
  args.add_string("--labels-file", &options.labels_file);
  args.add_switch("--list-labels", &list_labels);
  if (!args.parse(argc, argv, images)) return 2;
  if (images.empty() && !list_labels) return args.fail("no IMAGE given");
  // Syntax and ranges before the model loads; the labels once it has.
  if (const std::string why = retinanet::check_class_thresholds_syntax(class_thresholds); !why.empty())
    return args.fail("--class-thresholds: " + why);

  try {
    retinanet::Detector detector(options);
    const retinanet::ModelConfig& model = detector.config();
    if (list_labels) {
      for (int id = 0; id < model.num_classes; ++id) std::cout << id << ' ' << model.label_name(id) << '\n';
      return 0;
    }
    // The command line's thresholds for every image (negative or zero: the model file's, as DetectorOptions).
    retinanet::Thresholds thresholds{options.score_threshold, options.nms_threshold, options.max_detections, {},
                                     false};
    try {
      thresholds.class_score = retinanet::parse_class_thresholds(class_thresholds, model);
    } catch (const retinanet::ModelError& e) {
      return args.fail(std::string("--class-thresholds: ") + e.what());
    }
    thresholds.agnostic_nms = agnostic_nms;
    // Up to --batch images per forward pass (those of one size together); lines stay in input order.
    for (size_t first = 0; first < images.size(); first += static_cast<size_t>(batch)) {
      const size_t end = std::min(images.size(), first + static_cast<size_t>(batch));
      std::vector<cv::Mat> pictures;
      std::vector<retinanet::ImageView> views;
      for (size_t i = first; i < end; ++i) {
        // IMREAD_COLOR: 8-bit BGR whatever the file holds (grey, alpha, 16-bit are converted).
        pictures.push_back(cv::imread(images[i], cv::IMREAD_COLOR));
        const cv::Mat& bgr = pictures.back();
        if (bgr.empty()) return args.fail("cannot read image '" + images[i] + "'");
        views.push_back(retinanet::ImageView::packed(retinanet::PixelFormat::kBGR, bgr.cols, bgr.rows, bgr.data,
                                                     bgr.step));
      }
      const std::vector<retinanet::Detections> found =
          detector.detect_batch(views, std::vector<retinanet::Thresholds>(views.size(), thresholds));
      for (size_t k = 0; k < views.size(); ++k) {
        nlohmann::json line = {{"image", images[first + k]},
                               {"width", views[k].width},
                               {"height", views[k].height},
                               {"detections", retinanet::detections_to_json(found[k])}};
        std::cout << line.dump() << '\n' << std::flush;
      }
    }
  } catch (const retinanet::ModelError& e) {
    return args.fail(e.what());
  } catch (const std::exception& e) {
    return args.fail(std::string("internal error: ") + e.what());
  }
  return 0;
}
