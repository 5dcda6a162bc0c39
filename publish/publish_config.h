// Everything a Publisher needs, gathered from the element's properties at start (plain C++: no GStreamer type).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace retinanet::publish {

enum class Method { kMqtt, kKafka, kFile };

struct MqttOptions {
  int qos = 1;             // 0: at most once, 1: at least once, 2: exactly once
  std::string client_id;   // empty: "retinanet-<source>-<pid>"
  int keep_alive_s = 30;   // PINGREQ interval; a dead connection is noticed within 1.5 times this
  std::string username, password;  // password only with a username
  std::string ca_file, cert_file, key_file;  // TLS when ca_file is set; client certificate and key optional, together
};

struct KafkaOptions {
  std::string acks = "all";          // "all" (-1), "1" or "0": librdkafka's acks
  std::string compression = "none";  // none, gzip, snappy, lz4, zstd
  // Further librdkafka settings, "name=value" separated by ';' (e.g. "linger.ms=20;message.timeout.ms=30000").
  std::string extra;
};

struct PublishConfig {
  Method method = Method::kFile;
  std::string address;         // mqtt, kafka: host:port (several, separated by commas)
  std::string topic;           // template: "{source}" is replaced; empty: the method's default
  std::string source;          // the source id: the JSON "source", the Kafka key, the topic's {source}
  std::string file_path;       // file: the path, empty or "-": standard output
  size_t max_queued = 1000;    // messages waiting in the element, at most
  MqttOptions mqtt;
  KafkaOptions kafka;
};

// Default topics when `topic` is empty: MQTT "retinanet/{source}" (one topic per camera, subscribe to
// "retinanet/+"), Kafka "retinanet" (one topic, keyed by source).
std::string default_topic(Method method);
// "mqtt", "kafka", "file".
const char* method_name(Method method);

}  // namespace retinanet::publish
