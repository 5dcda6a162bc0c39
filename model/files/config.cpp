#include "model/files/config.h"

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/model_error.h"

namespace retinanet {

namespace {

using nlohmann::json;

json parse_value(const std::string& key, const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    throw ModelError("metadata '" + key + "' is not valid JSON: " + text);
  }
}

template <typename T>
void read_field(const std::map<std::string, std::string>& metadata, const std::string& key, T& field) {
  auto it = metadata.find(key);
  if (it == metadata.end()) return;
  json value = parse_value(key, it->second);
  try {
    field = value.get<T>();
  } catch (const json::exception&) {
    throw ModelError("metadata '" + key + "' has the wrong type: " + it->second);
  }
}

}  // namespace

std::string ModelConfig::label_name(int id) const {
  if (id >= 0 && id < static_cast<int>(labels.size()) && !labels[id].empty()) return labels[id];
  return std::to_string(id);
}

ModelConfig ModelConfig::from_metadata(const std::map<std::string, std::string>& metadata) {
  return from_metadata(metadata, ModelConfig());
}

ModelConfig ModelConfig::from_metadata(const std::map<std::string, std::string>& metadata,
                                       const ModelConfig& defaults) {
  ModelConfig config = defaults;
  if (auto it = metadata.find("arch"); it != metadata.end()) config.arch = it->second;
  read_field(metadata, "num_classes", config.num_classes);
  read_field(metadata, "labels", config.labels);
  read_field(metadata, "min_size", config.min_size);
  read_field(metadata, "max_size", config.max_size);
  read_field(metadata, "image_mean", config.image_mean);
  read_field(metadata, "image_std", config.image_std);
  read_field(metadata, "score_thresh", config.score_thresh);
  read_field(metadata, "nms_thresh", config.nms_thresh);
  read_field(metadata, "detections_per_img", config.detections_per_img);
  read_field(metadata, "topk_candidates", config.topk_candidates);
  read_field(metadata, "anchor_sizes", config.anchor_sizes);
  read_field(metadata, "aspect_ratios", config.aspect_ratios);

  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw ModelError("metadata: " + what);
  };
  require(config.num_classes > 0, "num_classes must be positive");
  require(config.labels.empty() || static_cast<int>(config.labels.size()) == config.num_classes,
          "labels has " + std::to_string(config.labels.size()) + " names for num_classes " +
              std::to_string(config.num_classes));
  require(config.min_size > 0 && config.max_size > 0, "min_size and max_size must be positive");
  require(config.image_mean.size() == 3 && config.image_std.size() == 3, "image_mean and image_std need 3 values");
  for (float s : config.image_std) require(s > 0, "image_std values must be positive");
  require(config.detections_per_img > 0 && config.topk_candidates > 0,
          "detections_per_img and topk_candidates must be positive");
  require(config.anchor_sizes.size() == 5, "anchor_sizes needs one list per level P3-P7");
  for (const auto& level : config.anchor_sizes)
    require(level.size() == config.anchor_sizes[0].size(), "every level needs the same number of anchor sizes");
  require(!config.aspect_ratios.empty(), "aspect_ratios is empty");
  return config;
}

namespace {

// Floats as the shortest decimal that reads back as the same float (0.05, not 0.05000000074505806).
json tidy(float v) {
  char text[32];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, v);
    if (std::strtof(text, nullptr) == v) break;
  }
  return json::parse(text);
}

template <typename T>
json tidy(const std::vector<T>& values) {
  json list = json::array();
  for (const T& v : values) list.push_back(tidy(v));
  return list;
}

}  // namespace

std::map<std::string, std::string> ModelConfig::to_metadata() const {
  return {
      {"arch", arch},
      {"num_classes", json(num_classes).dump()},
      {"labels", json(labels).dump()},
      {"min_size", json(min_size).dump()},
      {"max_size", json(max_size).dump()},
      {"image_mean", tidy(image_mean).dump()},
      {"image_std", tidy(image_std).dump()},
      {"score_thresh", tidy(score_thresh).dump()},
      {"nms_thresh", tidy(nms_thresh).dump()},
      {"detections_per_img", json(detections_per_img).dump()},
      {"topk_candidates", json(topk_candidates).dump()},
      {"anchor_sizes", tidy(anchor_sizes).dump()},
      {"aspect_ratios", tidy(aspect_ratios).dump()},
  };
}

}  // namespace retinanet
