// The one place a method name becomes a Transport.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "publish/publish_config.h"
#include "publish/transport.h"

namespace retinanet::publish {

// "mqtt", "kafka", "file"; nullopt for anything else.
std::optional<Method> parse_method(const std::string& name);

// Throws PublishError for a setting that can never work (each transport's constructor says which).
std::unique_ptr<Transport> make_transport(const PublishConfig& config);

}  // namespace retinanet::publish
