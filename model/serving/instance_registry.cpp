#include "model/serving/instance_registry.h"

#include <map>
#include <mutex>

#include "common/model_error.h"
#include "model/files/model_source.h"

namespace retinanet {

namespace {

struct Entry {
  std::weak_ptr<InferenceInstance> instance;
  std::string owner;
};

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::map<std::string, Entry>& registry() {
  static auto* entries = new std::map<std::string, Entry>;  // never freed: instances may outlive static teardown
  return *entries;
}

}  // namespace

std::string instance_conflict(const InstanceSettings& a, const InstanceSettings& b) {
  const DetectorOptions &x = a.detector, &y = b.detector;
  std::string differences;
  auto differ = [&](const std::string& what, const std::string& u, const std::string& v) {
    if (u != v) differences += (differences.empty() ? "" : ", ") + what + " '" + u + "' vs '" + v + "'";
  };
  differ("model", model_display_name(x.weights), model_display_name(y.weights));
  differ("device", x.device.empty() ? "auto" : x.device, y.device.empty() ? "auto" : y.device);
  differ("min-size", std::to_string(x.min_size), std::to_string(y.min_size));
  differ("max-size", std::to_string(x.max_size), std::to_string(y.max_size));
  differ("half", x.half ? "true" : "false", y.half ? "true" : "false");
  differ("labels-file", x.labels_file, y.labels_file);  // the instance's detections carry its label names
  return differences;
}

SharedInstance acquire_shared_instance(const std::string& id, const InstanceSettings& settings,
                                       const std::string& user) {
  // Loading happens under the registry lock, so two users starting at once load one instance, not two.
  std::lock_guard<std::mutex> lock(registry_mutex());
  Entry& entry = registry()[id];
  if (std::shared_ptr<InferenceInstance> existing = entry.instance.lock()) {
    const std::string conflict = instance_conflict(existing->settings(), settings);
    if (!conflict.empty())
      throw ModelError("model instance '" + id + "' is already loaded by " + entry.owner + " with other settings than " +
                       user + " asks for: " + conflict);
    return {existing, false, entry.owner};
  }
  SharedInstance shared{InferenceInstance::create(settings), true, user};
  entry = {shared.instance, user};
  return shared;
}

}  // namespace retinanet
