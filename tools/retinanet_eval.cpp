// retinanet-eval: COCO's bbox metrics (pycocotools' COCOeval.summarize()) of the detector, or of detections made
// elsewhere, on a COCO-format annotated set; one JSON object on stdout.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "common/model_error.h"
#include "model/evaluation/coco_eval.h"
#include "model/evaluation/detect_set.h"
#include "model/inference/detector.h"
#include "tools/cli_args.h"

namespace {

const char* kUsage =
    "usage: retinanet-eval --coco ANN.json [--image-dir DIR] [--weights FILE] [--device auto|cpu|cuda[:N]]\n"
    "                      [--score-threshold F] [--max-detections N] [--detections FILE.jsonl]\n"
    "Runs the detector on every image of the COCO set (category ids are label indices) and prints COCO's bbox\n"
    "metrics as one JSON object: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl (pycocotools'\n"
    "summarize(); -1 where a size range has no ground truth) and per_class_AP (category name -> AP).\n"
    "Without --weights the embedded default model is used. --detections scores retinanet-detect's JSON lines\n"
    "instead (one per image, matched to the set by the file name of `image`); --image-dir is then not needed.\n";

std::string basename_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// retinanet-detect's lines, matched to the set's images by file name.
std::vector<std::vector<retinanet::ScoredBox>> read_detections(const std::string& path,
                                                               const retinanet::CocoDataset& truth) {
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < truth.images.size(); ++i) by_name[basename_of(truth.images[i].file_name)] = i;
  std::ifstream in(path);
  if (!in) throw retinanet::ModelError(path + ": cannot open");
  std::vector<std::vector<retinanet::ScoredBox>> out(truth.images.size());
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(number);
    try {
      const nlohmann::json j = nlohmann::json::parse(line);
      const std::string image = basename_of(j.at("image").get<std::string>());
      auto it = by_name.find(image);
      if (it == by_name.end()) throw retinanet::ModelError(where + ": image '" + image + "' is not in the COCO set");
      for (const nlohmann::json& d : j.at("detections")) {
        const auto box = d.at("box").get<std::vector<double>>();
        if (box.size() != 4) throw retinanet::ModelError(where + ": a box needs 4 numbers");
        out[it->second].push_back({d.at("label").get<int>(), d.at("score").get<double>(), box[0], box[1], box[2],
                                   box[3]});
      }
    } catch (const nlohmann::json::exception& e) {
      throw retinanet::ModelError(where + ": not a detection line (" + e.what() + ")");
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using retinanet::cli::ArgParser;
  retinanet::DetectorOptions options;
  std::string coco, image_dir, detections;
  std::vector<std::string> positional;
  ArgParser args("retinanet-eval", kUsage);
  args.add_string("--coco", &coco);
  args.add_string("--image-dir", &image_dir);
  args.add_string("--detections", &detections);
  args.add_string("--weights", &options.weights);
  args.add_string("--device", &options.device);
  args.add_float("--score-threshold", &options.score_threshold, 0, 1);
  args.add_int("--max-detections", &options.max_detections, 1);
  if (!args.parse(argc, argv, positional)) return 2;
  if (!positional.empty()) return args.fail("unexpected argument '" + positional.front() + "'");
  if (coco.empty()) return args.fail("--coco ANN.json is required");
  if (detections.empty() && image_dir.empty()) return args.fail("--image-dir DIR is required (or --detections)");

  try {
    const retinanet::CocoDataset truth = retinanet::read_coco(coco);
    std::vector<std::vector<retinanet::ScoredBox>> found;
    if (detections.empty()) {
      retinanet::Detector detector(options);
      found = retinanet::detect_coco_set(detector, image_dir, truth);
    } else {
      found = read_detections(detections, truth);
    }
    std::cout << retinanet::metrics_to_json(retinanet::evaluate_coco(truth, found)).dump() << '\n';
  } catch (const retinanet::ModelError& e) {
    return args.fail(e.what());
  } catch (const std::exception& e) {
    return args.fail(std::string("internal error: ") + e.what());
  }
  return 0;
}
