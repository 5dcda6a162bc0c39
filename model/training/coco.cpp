#include "model/training/coco.h"

#include <cstdint>
#include <fstream>
#include <istream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "common/model_error.h"

namespace retinanet {

using nlohmann::json;

namespace {

constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();

// A COCO id or size: a JSON integer from 0 to 2^31 - 1. nlohmann's get<int> would truncate 4.9, wrap 4294967300
// and take 1e20 as whatever the cast gives; such a file is refused with the field named. `fallback` when absent
// (nullptr: required).
int64_t strict_int(const json& object, const char* field, const std::string& where, const int64_t* fallback) {
  if (!object.is_object() || !object.contains(field)) {
    if (fallback) return *fallback;
    throw ModelError(where + "." + field + " is missing");
  }
  const json& v = object.at(field);
  const bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(kIntMax)
                        : v.is_number_integer() ? v.get<int64_t>() >= 0 && v.get<int64_t>() <= kIntMax
                                                : false;
  if (!in_range)
    throw ModelError(where + "." + field + " must be an integer from 0 to " + std::to_string(kIntMax) + ", not " +
                     v.dump());
  return v.get<int64_t>();
}

const int64_t kZero = 0;

CocoAnnotation annotation(const json& ann, const std::vector<double>& bbox, int label, bool crowd) {
  CocoAnnotation a;
  a.id = ann.value("id", int64_t{0});  // checked by the caller
  a.label = label;
  a.x = bbox[0], a.y = bbox[1], a.w = bbox[2], a.h = bbox[3];
  a.area = ann.contains("area") && ann["area"].is_number() ? ann["area"].get<double>() : a.w * a.h;
  a.crowd = crowd;
  return a;
}

// Crowd annotations only matter to evaluation; one that is malformed is skipped, as training always skipped them.
void add_crowd(const json& ann, CocoDataset& data, const std::map<int64_t, size_t>& index) {
  try {
    auto it = index.find(strict_int(ann, "image_id", "", nullptr));
    const auto bbox = ann.at("bbox").get<std::vector<double>>();
    const int label = static_cast<int>(strict_int(ann, "category_id", "", nullptr));
    strict_int(ann, "id", "", &kZero);
    if (it == index.end() || bbox.size() != 4 || label <= 0 || label >= static_cast<int>(data.labels.size())) return;
    data.images[it->second].annotations.push_back(annotation(ann, bbox, label, true));
  } catch (const json::exception&) {
  } catch (const ModelError&) {
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
      const std::string where = path + ": images[" + std::to_string(data.images.size()) + "]";
      CocoImage image;
      image.id = strict_int(img, "id", where, nullptr);
      image.file_name = img.at("file_name").get<std::string>();
      image.width = static_cast<int>(strict_int(img, "width", where, &kZero));
      image.height = static_cast<int>(strict_int(img, "height", where, &kZero));
      index[image.id] = data.images.size();
      data.images.push_back(std::move(image));
    }
    for (const json& cat : root.at("categories")) {
      const int64_t id = strict_int(cat, "id", path + ": a category", nullptr);
      if (id < 0 || id > 100000) throw ModelError(path + ": category id " + std::to_string(id) + " out of range");
      if (static_cast<int64_t>(data.labels.size()) <= id) data.labels.resize(id + 1);
      data.labels[id] = cat.at("name").get<std::string>();
    }
    size_t ann_index = 0;
    for (const json& ann : root.value("annotations", json::array())) {
      const std::string where = path + ": annotations[" + std::to_string(ann_index++) + "]";
      if (ann.value("iscrowd", 0)) {
        add_crowd(ann, data, index);
        continue;
      }
      strict_int(ann, "id", where, &kZero);
      auto it = index.find(strict_int(ann, "image_id", where, nullptr));
      if (it == index.end())
        throw ModelError(path + ": annotation " + ann.value("id", json()).dump() + " refers to an unknown image");
      const auto bbox = ann.at("bbox").get<std::vector<double>>();
      const int label = static_cast<int>(strict_int(ann, "category_id", where, nullptr));
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
