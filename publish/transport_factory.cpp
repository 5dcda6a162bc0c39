#include "publish/transport_factory.h"

#include "publish/file_transport.h"
#include "publish/kafka_transport.h"
#include "publish/mqtt_transport.h"
#include "publish/publish_error.h"

namespace retinanet::publish {

std::string default_topic(Method method) {
  return method == Method::kKafka ? "retinanet" : "retinanet/{source}";
}

const char* method_name(Method method) {
  switch (method) {
    case Method::kMqtt: return "mqtt";
    case Method::kKafka: return "kafka";
    case Method::kFile: return "file";
  }
  return "?";
}

std::optional<Method> parse_method(const std::string& name) {
  for (Method m : {Method::kMqtt, Method::kKafka, Method::kFile})
    if (name == method_name(m)) return m;
  return std::nullopt;
}

std::unique_ptr<Transport> make_transport(const PublishConfig& config) {
  if (config.source.empty()) throw PublishError("an empty source id");
  if (config.max_queued == 0) throw PublishError("max-queued must be at least 1");
  switch (config.method) {
    case Method::kMqtt: return std::make_unique<MqttTransport>(config);
    case Method::kKafka: return std::make_unique<KafkaTransport>(config);
    case Method::kFile: return std::make_unique<FileTransport>(config);
  }
  throw PublishError("unknown method");
}

}  // namespace retinanet::publish
