// MQTT through libmosquitto (3.1.1), driven from the Publisher's worker with libmosquitto's external-loop calls
// (mosquitto_loop_read/write/misc around one poll() that also watches the worker's wake fd), so that every
// libmosquitto call happens on that one thread. At most kWindow messages are handed to libmosquitto and not yet
// acknowledged; libmosquitto re-sends those (QoS 1/2) after a reconnection, so nothing handed over is lost to an
// outage (QoS 1 may then deliver a message twice, as MQTT allows).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "publish/endpoint.h"
#include "publish/publish_config.h"
#include "publish/transport.h"

struct mosquitto;

namespace retinanet::publish {

class MqttTransport : public Transport {
 public:
  static constexpr size_t kWindow = 20;  // libmosquitto's default in-flight maximum
  static constexpr int kDefaultPort = 1883;

  // Throws PublishError for what can never work: a bad address, a topic MQTT refuses ('+', '#', empty, not
  // UTF-8), a QoS other than 0-2, a keep-alive below 5 s, a TLS file that cannot be read.
  MqttTransport(const PublishConfig& config);
  ~MqttTransport() override;

  void set_listener(TransportListener* listener) override { listener_ = listener; }
  std::string describe() const override;
  bool wants_connect() const override { return state_ == State::kDown; }
  bool connect(std::string& error) override;
  bool can_send() const override { return state_ == State::kConnected && unacked_ < kWindow; }
  bool send(const std::string& payload) override;
  void service(int wake_fd, std::chrono::milliseconds timeout) override;
  size_t unacknowledged() const override { return unacked_; }
  void close(std::chrono::milliseconds timeout) override;

  const std::string& topic() const { return topic_; }

 private:
  enum class State { kDown, kConnecting, kConnected };
  static void on_connect(struct mosquitto*, void* self, int rc);
  static void on_disconnect(struct mosquitto*, void* self, int rc);
  static void on_publish(struct mosquitto*, void* self, int mid);
  void lost(const std::string& reason);

  std::vector<Endpoint> endpoints_;
  size_t endpoint_ = 0;  // the one tried next
  std::string topic_;
  int qos_;
  int keep_alive_s_;
  struct mosquitto* mosq_ = nullptr;
  TransportListener* listener_ = nullptr;
  State state_ = State::kDown;
  size_t unacked_ = 0;
};

}  // namespace retinanet::publish
