// Topic templates: "{source}" in the `topic` property is replaced by the element's source id, so one pipeline
// description serves every camera ("cameras/{source}/detections"). Any other "{...}" is refused, as is a lone
// brace; each method then checks the expanded topic against its broker's rules (mqtt_transport, kafka_transport).
#pragma once

#include <string>

namespace retinanet::publish {

// Throws PublishError naming the template for an unknown placeholder or an unbalanced brace.
std::string expand_topic(const std::string& topic_template, const std::string& source);

}  // namespace retinanet::publish
