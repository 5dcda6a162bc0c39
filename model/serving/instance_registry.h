// The process's shared model instances by name (retinanetdetect's model-instance-id): the first user of a name
// loads the instance, later users with the same settings share it, and the last one to let go frees it (on its
// own thread). Users that name an instance with settings of their own are refused with one line naming both.
#pragma once

#include <memory>
#include <string>

#include "model/serving/instance.h"

namespace retinanet {

struct SharedInstance {
  std::shared_ptr<InferenceInstance> instance;
  bool loaded = false;  // this call loaded it (false: it was already there)
  std::string owner;    // who loaded it (for messages)
};

// The instance named `id` for `user` (a name for messages, e.g. the element's). Settings that decide what is loaded
// (model, device, sizes, half) must equal the instance's; batch settings are the first user's. Throws ModelError
// when they differ, or when the model cannot be loaded.
SharedInstance acquire_shared_instance(const std::string& id, const InstanceSettings& settings,
                                       const std::string& user);

// The settings of `a` and `b` that would make two instances differ, as "model 'x' vs 'y'" phrases; empty when
// they could share one.
std::string instance_conflict(const InstanceSettings& a, const InstanceSettings& b);

}  // namespace retinanet
