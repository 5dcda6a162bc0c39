#include "model/files/config.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/model_error.h"

namespace retinanet {

namespace {

using nlohmann::json;

// Bounds of what a model file may ask for. Sizes past these run out of memory or time on every frame instead of
// being refused once, at load.
constexpr int64_t kMaxClasses = 100000;
constexpr int64_t kMaxImageSide = 4096;        // min_size, max_size
constexpr int64_t kMaxDetections = 100000;     // detections_per_img
constexpr int64_t kMaxCandidates = 1000000;    // topk_candidates, per level
constexpr size_t kMaxListLength = 64;          // anchor sizes per level, aspect ratios
constexpr double kMinStd = 1e-6, kMaxStd = 1e6;  // image_std: not 0, not denormal (its inverse scales the input)

json parse_value(const std::string& key, const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    throw ModelError("metadata '" + key + "' is not valid JSON: " + text);
  }
}

std::string number_text(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", v);
  return text;
}

// The accepted range of a field, as messages give it.
std::string range_text(double lo, double hi) { return "[" + number_text(lo) + ", " + number_text(hi) + "]"; }

// Every value is checked as JSON before any conversion: a float outside `int` converted to int is undefined
// behaviour, and 4294967300 or 4.9 must not quietly become 4.
ModelError out_of_range(const std::string& key, const std::string& what, double lo, double hi,
                        const std::string& text) {
  return ModelError("metadata '" + key + "' must be " + what + " in " + range_text(lo, hi) + ", got " + text);
}

int64_t integer_in(const std::string& key, const json& value, int64_t lo, int64_t hi, const std::string& text) {
  const bool integer = value.is_number_integer() || value.is_number_unsigned();
  if (!integer || (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(hi)) ||
      value.get<int64_t>() < lo || value.get<int64_t>() > hi)
    throw out_of_range(key, "an integer", static_cast<double>(lo), static_cast<double>(hi), text);
  return value.get<int64_t>();
}

// lo < v <= hi when `open_below`, else lo <= v <= hi; finite in any case (JSON has no NaN; 1e39 is a double).
float float_in(const std::string& key, const json& value, double lo, double hi, bool open_below,
               const std::string& text) {
  const double v = value.is_number() ? value.get<double>() : std::nan("");
  if (!std::isfinite(v) || v > hi || v < lo || (open_below && v == lo))
    throw out_of_range(key, open_below ? "a number above " + number_text(lo) + " and" : "a number", lo, hi, text);
  return static_cast<float>(v);
}

const json* find(const std::map<std::string, std::string>& metadata, const std::string& key, json& storage) {
  auto it = metadata.find(key);
  if (it == metadata.end()) return nullptr;
  storage = parse_value(key, it->second);
  return &storage;
}

void read_int(const std::map<std::string, std::string>& metadata, const std::string& key, int64_t lo, int64_t hi,
              int& field) {
  json value;
  if (find(metadata, key, value)) field = static_cast<int>(integer_in(key, value, lo, hi, metadata.at(key)));
}

void read_float(const std::map<std::string, std::string>& metadata, const std::string& key, double lo, double hi,
                bool open_below, float& field) {
  json value;
  if (find(metadata, key, value)) field = float_in(key, value, lo, hi, open_below, metadata.at(key));
}

// A list of `count` numbers (count 0: any non-empty length), each in range.
void read_floats(const std::map<std::string, std::string>& metadata, const std::string& key, size_t count, double lo,
                 double hi, bool open_below, std::vector<float>& field) {
  json value;
  if (!find(metadata, key, value)) return;
  const std::string& text = metadata.at(key);
  const std::string shape = count ? std::to_string(count) + " numbers" : "a non-empty list of numbers";
  if (!value.is_array() || (count ? value.size() != count : value.empty()) || value.size() > kMaxListLength)
    throw ModelError("metadata '" + key + "' must be " + shape + ", got " + text);
  std::vector<float> out;
  for (const json& v : value) out.push_back(float_in(key, v, lo, hi, open_below, text));
  field = std::move(out);
}

}  // namespace

std::string ModelConfig::label_name(int id) const {
  if (id >= 0 && id < static_cast<int>(labels.size()) && !labels[id].empty()) return labels[id];
  return std::to_string(id);
}

int ModelConfig::label_index(const std::string& key) const {
  for (int id = 0; id < static_cast<int>(labels.size()); ++id)
    if (!labels[id].empty() && labels[id] == key) return id;
  if (key.empty() || key.size() > 9 || key.find_first_not_of("0123456789") != std::string::npos) return -1;
  const int id = std::stoi(key);
  return id < num_classes ? id : -1;
}

ModelConfig ModelConfig::from_metadata(const std::map<std::string, std::string>& metadata) {
  return from_metadata(metadata, ModelConfig());
}

ModelConfig ModelConfig::from_metadata(const std::map<std::string, std::string>& metadata,
                                       const ModelConfig& defaults) {
  ModelConfig config = defaults;
  json class_thresholds;  // null: the field is absent
  if (auto it = metadata.find("arch"); it != metadata.end()) config.arch = it->second;
  read_int(metadata, "num_classes", 1, kMaxClasses, config.num_classes);
  if (json value; find(metadata, "labels", value)) {
    if (!value.is_array()) throw ModelError("metadata 'labels' must be a list of names");
    config.labels.clear();
    for (const json& name : value) {
      if (!name.is_string()) throw ModelError("metadata 'labels' must be a list of names, got " + name.dump());
      config.labels.push_back(name.get<std::string>());
    }
  }
  read_int(metadata, "min_size", 1, kMaxImageSide, config.min_size);
  read_int(metadata, "max_size", 1, kMaxImageSide, config.max_size);
  read_floats(metadata, "image_mean", 3, -1e3, 1e3, false, config.image_mean);
  read_floats(metadata, "image_std", 3, kMinStd, kMaxStd, false, config.image_std);
  read_float(metadata, "score_thresh", 0, 1, false, config.score_thresh);
  read_float(metadata, "nms_thresh", 0, 1, false, config.nms_thresh);
  if (json value; find(metadata, "class_score_thresh", value)) {
    const std::string& text = metadata.at("class_score_thresh");
    if (!value.is_object())
      throw ModelError("metadata 'class_score_thresh' must be an object of label name (or index) to number, got " +
                       text);
    // Keys are resolved once labels and num_classes are known (they may come after it in the file).
    config.class_score_thresh.clear();
    class_thresholds = std::move(value);
  }
  read_int(metadata, "detections_per_img", 1, kMaxDetections, config.detections_per_img);
  read_int(metadata, "topk_candidates", 1, kMaxCandidates, config.topk_candidates);
  if (json value; find(metadata, "anchor_sizes", value)) {
    const std::string& text = metadata.at("anchor_sizes");
    if (!value.is_array() || value.size() != 5)
      throw ModelError("metadata 'anchor_sizes' must be 5 lists, one per level P3-P7, got " + text);
    std::vector<std::vector<float>> sizes;
    for (const json& level : value) {
      if (!level.is_array() || level.empty() || level.size() > kMaxListLength || level.size() != value[0].size())
        throw ModelError("metadata 'anchor_sizes' must be 5 non-empty lists of the same length (at most " +
                         std::to_string(kMaxListLength) + "), got " + text);
      sizes.emplace_back();
      for (const json& v : level) sizes.back().push_back(float_in("anchor_sizes", v, 0, 1e5, true, text));
    }
    config.anchor_sizes = std::move(sizes);
  }
  read_floats(metadata, "aspect_ratios", 0, 0, 1e3, true, config.aspect_ratios);

  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw ModelError("metadata: " + what);
  };
  require(config.labels.empty() || static_cast<int>(config.labels.size()) == config.num_classes,
          "labels has " + std::to_string(config.labels.size()) + " names for num_classes " +
              std::to_string(config.num_classes));
  if (!class_thresholds.is_null()) {
    const std::string& text = metadata.at("class_score_thresh");
    config.class_score_thresh.assign(static_cast<size_t>(config.num_classes), -1.0f);
    for (const auto& [key, v] : class_thresholds.items()) {
      const int id = config.label_index(key);
      if (id < 0)
        throw ModelError("metadata 'class_score_thresh' names '" + key + "', which is no label of the model");
      config.class_score_thresh[static_cast<size_t>(id)] = float_in("class_score_thresh", v, 0, 1, false, text);
    }
  } else if (!config.class_score_thresh.empty() &&
             static_cast<int>(config.class_score_thresh.size()) != config.num_classes) {
    config.class_score_thresh.clear();  // the defaults' were for another class set
  }
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
  std::map<std::string, std::string> metadata = {
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
  // Only when set and for this class set, keyed by name where the label has one (what a user reads and writes).
  if (static_cast<int>(class_score_thresh.size()) == num_classes) {
    json thresholds = json::object();
    for (int id = 0; id < num_classes; ++id)
      if (class_score_thresh[static_cast<size_t>(id)] >= 0) {
        const std::string name = label_name(id);
        thresholds[label_index(name) == id ? name : std::to_string(id)] = tidy(class_score_thresh[static_cast<size_t>(id)]);
      }
    if (!thresholds.empty()) metadata["class_score_thresh"] = thresholds.dump();
  }
  return metadata;
}

}  // namespace retinanet
