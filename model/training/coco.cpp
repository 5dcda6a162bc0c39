#include "model/training/coco.h"

#include <fstream>
#include <istream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/model_error.h"

namespace retinanet {

using nlohmann::json;

namespace {

CocoAnnotation annotation(const json& ann, const std::vector<double>& bbox, int label, bool crowd) {
  CocoAnnotation a;
  a.id = ann.value("id", int64_t{0});
  a.label = label;
  a.x = bbox[0], a.y = bbox[1], a.w = bbox[2], a.h = bbox[3];
  a.area = ann.contains("area") && ann["area"].is_number() ? ann["area"].get<double>() : a.w * a.h;
  a.crowd = crowd;
  return a;
}

// Crowd annotations only matter to evaluation; one that is malformed is skipped, as training always skipped them.
void add_crowd(const json& ann, CocoDataset& data, const std::map<int64_t, size_t>& index) {
  try {
    auto it = index.find(ann.at("image_id").get<int64_t>());
    const auto bbox = ann.at("bbox").get<std::vector<double>>();
    const int label = ann.at("category_id").get<int>();
    if (it == index.end() || bbox.size() != 4 || label <= 0 || label >= static_cast<int>(data.labels.size())) return;
    data.images[it->second].annotations.push_back(annotation(ann, bbox, label, true));
  } catch (const json::exception&) {
  }
}

}  // namespace

CocoDataset read_coco(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ModelError(path + ": cannot open");
  return read_coco(in, path);
}

CocoDataset read_coco(std::istream& in, const std::string& path) {
  json root;
  try {
    root = json::parse(in);
    CocoDataset data;
    std::map<int64_t, size_t> index;
    for (const json& img : root.at("images")) {
      CocoImage image;
      image.id = img.at("id").get<int64_t>();
      image.file_name = img.at("file_name").get<std::string>();
      image.width = img.value("width", 0);
      image.height = img.value("height", 0);
      index[image.id] = data.images.size();
      data.images.push_back(std::move(image));
    }
    for (const json& cat : root.at("categories")) {
      const int64_t id = cat.at("id").get<int64_t>();
      if (id < 0 || id > 100000) throw ModelError(path + ": category id " + std::to_string(id) + " out of range");
      if (static_cast<int64_t>(data.labels.size()) <= id) data.labels.resize(id + 1);
      data.labels[id] = cat.at("name").get<std::string>();
    }
    for (const json& ann : root.value("annotations", json::array())) {
      if (ann.value("iscrowd", 0)) {
        add_crowd(ann, data, index);
        continue;
      }
      auto it = index.find(ann.at("image_id").get<int64_t>());
      if (it == index.end())
        throw ModelError(path + ": annotation " + ann.value("id", json()).dump() + " refers to an unknown image");
      const auto bbox = ann.at("bbox").get<std::vector<double>>();
      const int label = ann.at("category_id").get<int>();
      if (bbox.size() != 4 || label <= 0 || label >= static_cast<int>(data.labels.size()))
        throw ModelError(path + ": annotation " + ann.value("id", json()).dump() + " has a bad bbox or category_id");
      data.images[it->second].annotations.push_back(annotation(ann, bbox, label, false));
      if (bbox[2] <= 0 || bbox[3] <= 0) continue;  // degenerate boxes cannot be matched
      const float x = static_cast<float>(bbox[0]), y = static_cast<float>(bbox[1]);
      data.images[it->second].objects.push_back(
          {label, x, y, x + static_cast<float>(bbox[2]), y + static_cast<float>(bbox[3])});
    }
    return data;
  } catch (const json::exception& e) {
    throw ModelError(path + ": not a COCO annotation file (" + e.what() + ")");
  }
}

void write_coco(const std::string& path, const CocoDataset& dataset) {
  json images = json::array(), annotations = json::array(), categories = json::array();
  int64_t ann_id = 1;
  for (const CocoImage& img : dataset.images) {
    images.push_back({{"id", img.id}, {"file_name", img.file_name}, {"width", img.width}, {"height", img.height}});
    for (const LabeledBox& b : img.objects)
      annotations.push_back({{"id", ann_id++},
                             {"image_id", img.id},
                             {"category_id", b.label},
                             {"bbox", {b.x1, b.y1, b.x2 - b.x1, b.y2 - b.y1}},
                             {"area", (b.x2 - b.x1) * (b.y2 - b.y1)},
                             {"iscrowd", 0}});
  }
  for (size_t id = 1; id < dataset.labels.size(); ++id)
    if (!dataset.labels[id].empty()) categories.push_back({{"id", id}, {"name", dataset.labels[id]}});
  std::ofstream out(path);
  out << json{{"images", images}, {"annotations", annotations}, {"categories", categories}}.dump() << '\n';
  if (!out) throw ModelError(path + ": cannot write");
}

}  // namespace retinanet
