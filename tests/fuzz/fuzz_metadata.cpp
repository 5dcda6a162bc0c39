// libFuzzer target: the model metadata parser. The input is a JSON object of strings, as a file's `__metadata__`
// (other inputs are skipped). A config that is accepted must write out metadata that reads back to the same config
// (a checkpoint the trainer saves must load again).
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/model_error.h"
#include "model/files/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json object = nlohmann::json::parse(data, data + size, nullptr, false);
  if (!object.is_object()) return 0;
  std::map<std::string, std::string> metadata;
  for (const auto& [key, value] : object.items())
    metadata[key] = value.is_string() ? value.get<std::string>() : value.dump();
  retinanet::ModelConfig config;
  try {
    config = retinanet::ModelConfig::from_metadata(metadata);
  } catch (const retinanet::ModelError&) {
    return 0;
  }
  retinanet::ModelConfig again;
  try {
    again = retinanet::ModelConfig::from_metadata(config.to_metadata());
  } catch (const retinanet::ModelError&) {
    std::abort();  // accepted once, refused after a save
  }
  if (again.to_metadata() != config.to_metadata()) std::abort();
  return 0;
}
