// Broker addresses as the `address` property gives them: "host:port", or several separated by commas (Kafka's
// bootstrap list; MQTT tries them in turn). A host is a DNS name, a dotted IPv4 address or a bracketed IPv6
// address ("[::1]:1883"); the port may be left out where the method has a default (MQTT 1883, Kafka 9092).
// Anything else can never work and is refused with one message naming the address and what is wrong with it.
#pragma once

#include <string>
#include <vector>

namespace retinanet::publish {

struct Endpoint {
  std::string host;  // without brackets for IPv6
  int port = 0;

  std::string to_string() const;  // "host:port", IPv6 bracketed
  bool operator==(const Endpoint& other) const { return host == other.host && port == other.port; }
};

// Throws PublishError for an empty list, an empty item, a bad host or port.
std::vector<Endpoint> parse_endpoints(const std::string& address, int default_port);

// "a:1,b:2": the list as librdkafka's bootstrap.servers wants it.
std::string join_endpoints(const std::vector<Endpoint>& endpoints);

}  // namespace retinanet::publish
