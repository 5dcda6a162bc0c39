#include "model/inference/class_options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "common/model_error.h"

namespace retinanet {

namespace {

std::string trimmed(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\r\n"), end = s.find_last_not_of(" \t\r\n");
  return begin == std::string::npos ? "" : s.substr(begin, end - begin + 1);
}

// The entries of `text` as (key, value), values range-checked; keys are not resolved here.
std::vector<std::pair<std::string, float>> split_entries(const std::string& text) {
  std::vector<std::pair<std::string, float>> entries;
  std::stringstream in(text);
  std::string entry;
  while (std::getline(in, entry, ',')) {
    if (trimmed(entry).empty()) continue;
    const size_t eq = entry.find('=');
    const std::string key = trimmed(entry.substr(0, eq));
    if (eq == std::string::npos || key.empty())
      throw ModelError("'" + trimmed(entry) + "' is not of the form label=threshold");
    const std::string value = trimmed(entry.substr(eq + 1));
    char* end = nullptr;
    errno = 0;
    const double v = value.empty() ? std::nan("") : std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || errno != 0 || !std::isfinite(v))
      throw ModelError("the threshold of '" + key + "' is not a number: '" + value + "'");
    if (v < 0 || v > 1)
      throw ModelError("the threshold of '" + key + "' must lie in [0, 1], got " + value);
    entries.emplace_back(key, static_cast<float>(v));
  }
  return entries;
}

}  // namespace

std::vector<float> parse_class_thresholds(const std::string& text, const ModelConfig& model) {
  const auto entries = split_entries(text);
  if (entries.empty()) return {};
  std::vector<float> thresholds(static_cast<size_t>(model.num_classes), -1.0f);
  for (const auto& [key, value] : entries) {
    const int id = model.label_index(key);
    if (id < 0)
      throw ModelError("'" + key + "' is not a label of the model (a name, or an index below " +
                       std::to_string(model.num_classes) + ")");
    thresholds[static_cast<size_t>(id)] = value;
  }
  return thresholds;
}

std::string check_class_thresholds_syntax(const std::string& text) {
  try {
    split_entries(text);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> read_labels_file(const std::string& path, int num_classes) {
  std::ifstream in(path);
  if (!in) throw ModelError("labels file '" + path + "': cannot open");
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) names.push_back(trimmed(line));
  if (in.bad()) throw ModelError("labels file '" + path + "': read error");
  if (static_cast<int>(names.size()) != num_classes)
    throw ModelError("labels file '" + path + "' has " + std::to_string(names.size()) + " lines, the model " +
                     std::to_string(num_classes) + " labels (one name per line, line i naming label i)");
  return names;
}

}  // namespace retinanet
