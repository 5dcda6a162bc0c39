#include "publish/mqtt_transport.h"

#include <mosquitto.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>

#include "publish/publish_error.h"
#include "publish/topic.h"

namespace retinanet::publish {

namespace {

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string error_text(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
  return mosquitto_strerror(rc);
}

void check_readable(const std::string& what, const std::string& path) {
  if (path.empty()) return;
  std::ifstream f(path);
  if (!f) throw PublishError(what + " \"" + path + "\" cannot be read: " + std::strerror(errno));
}

}  // namespace

MqttTransport::MqttTransport(const PublishConfig& config)
    : endpoints_(parse_endpoints(config.address, kDefaultPort)),
      topic_(expand_topic(config.topic.empty() ? default_topic(Method::kMqtt) : config.topic, config.source)),
      qos_(config.mqtt.qos),
      keep_alive_s_(config.mqtt.keep_alive_s) {
  init_library();
  if (qos_ < 0 || qos_ > 2) throw PublishError("MQTT QoS " + std::to_string(qos_) + ": expected 0, 1 or 2");
  if (keep_alive_s_ < 5 || keep_alive_s_ > 65535)
    throw PublishError("MQTT keep-alive " + std::to_string(keep_alive_s_) + " s: expected 5 to 65535 seconds");
  if (mosquitto_pub_topic_check2(topic_.c_str(), topic_.size()) != MOSQ_ERR_SUCCESS || topic_.empty())
    throw PublishError("MQTT topic \"" + topic_ + "\" cannot be published to (empty, or holds '+' or '#')");
  if (mosquitto_validate_utf8(topic_.c_str(), static_cast<int>(topic_.size())) != MOSQ_ERR_SUCCESS)
    throw PublishError("MQTT topic \"" + topic_ + "\" is not valid UTF-8");
  if (!config.mqtt.password.empty() && config.mqtt.username.empty())
    throw PublishError("an MQTT password without a username");
  if (config.mqtt.cert_file.empty() != config.mqtt.key_file.empty())
    throw PublishError("a TLS client certificate and its key go together (tls-cert-file and tls-key-file)");
  if (!config.mqtt.cert_file.empty() && config.mqtt.ca_file.empty())
    throw PublishError("a TLS client certificate without a CA file (tls-ca-file)");
  check_readable("TLS CA file", config.mqtt.ca_file);
  check_readable("TLS certificate file", config.mqtt.cert_file);
  check_readable("TLS key file", config.mqtt.key_file);

  std::string id = config.mqtt.client_id;
  if (id.empty()) id = "retinanet-" + config.source + "-" + std::to_string(getpid());
  // MQTT 3.1.1 brokers accept client ids of up to 23 bytes at least; longer ones only if the broker allows.
  mosq_ = mosquitto_new(id.c_str(), true, this);
  if (!mosq_) throw PublishError("libmosquitto could not make a client: " + std::string(std::strerror(errno)));
  mosquitto_connect_callback_set(mosq_, on_connect);
  mosquitto_disconnect_callback_set(mosq_, on_disconnect);
  mosquitto_publish_callback_set(mosq_, on_publish);
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  if (!config.mqtt.username.empty()) {
    const int rc = mosquitto_username_pw_set(mosq_, config.mqtt.username.c_str(),
                                             config.mqtt.password.empty() ? nullptr : config.mqtt.password.c_str());
    if (rc != MOSQ_ERR_SUCCESS) throw PublishError("MQTT username: " + error_text(rc));
  }
  if (!config.mqtt.ca_file.empty()) {
    const int rc = mosquitto_tls_set(mosq_, config.mqtt.ca_file.c_str(), nullptr,
                                     config.mqtt.cert_file.empty() ? nullptr : config.mqtt.cert_file.c_str(),
                                     config.mqtt.key_file.empty() ? nullptr : config.mqtt.key_file.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) throw PublishError("MQTT TLS settings refused: " + error_text(rc));
  }
}

MqttTransport::~MqttTransport() {
  if (mosq_) mosquitto_destroy(mosq_);
}

std::string MqttTransport::describe() const {
  return "mqtt://" + join_endpoints(endpoints_) + " topic " + topic_;
}

bool MqttTransport::connect(std::string& error) {
  const Endpoint& e = endpoints_[endpoint_];
  endpoint_ = (endpoint_ + 1) % endpoints_.size();  // several brokers: each attempt tries the next
  state_ = State::kConnecting;
  // Non-blocking: the TCP connection and the CONNECT/CONNACK exchange finish in service(). The name is resolved
  // here, on the worker thread.
  const int rc = mosquitto_connect_async(mosq_, e.host.c_str(), e.port, keep_alive_s_);
  if (rc == MOSQ_ERR_SUCCESS) return true;
  state_ = State::kDown;
  error = "cannot connect to " + e.to_string() + ": " +
          (rc == MOSQ_ERR_EAI ? std::string("the host name does not resolve") : error_text(rc));
  return false;
}

bool MqttTransport::send(const std::string& payload) {
  int mid = 0;
  ++unacked_;  // before the call: QoS 0 may report its delivery from within it
  const int rc = mosquitto_publish(mosq_, &mid, topic_.c_str(), static_cast<int>(payload.size()), payload.data(),
                                   qos_, false);
  if (rc == MOSQ_ERR_SUCCESS) return true;
  // QoS 1/2: libmosquitto queued the message before finding the connection gone, and re-sends it after the
  // next connection; it stays handed over.
  if (rc == MOSQ_ERR_NO_CONN && qos_ > 0) {
    lost("the connection closed");
    return true;
  }
  --unacked_;
  if (rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_OVERSIZE_PACKET) {
    if (listener_) listener_->on_failed(1, "message too large for the broker");
    return true;  // given up: the worker must not retry it
  }
  lost("publish failed: " + error_text(rc));
  return false;
}

void MqttTransport::service(int wake_fd, std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{wake_fd, POLLIN, 0}, {-1, 0, 0}};
  const int sock = state_ == State::kDown ? -1 : mosquitto_socket(mosq_);
  nfds_t count = 1;
  if (sock >= 0) {
    fds[1] = {sock, static_cast<short>(POLLIN | (mosquitto_want_write(mosq_) ? POLLOUT : 0)), 0};
    count = 2;
  }
  // While connected, wake at least once a second for keep-alive pings (mosquitto_loop_misc).
  int wait_ms = static_cast<int>(timeout.count());
  if (sock >= 0) wait_ms = std::min(wait_ms, 1000);
  if (::poll(fds, count, wait_ms) < 0 && errno != EINTR) return;
  if (sock < 0) return;
  int rc = MOSQ_ERR_SUCCESS;
  if (fds[1].revents & (POLLIN | POLLERR | POLLHUP)) rc = mosquitto_loop_read(mosq_, 1);
  if (rc == MOSQ_ERR_SUCCESS && state_ != State::kDown && (fds[1].revents & POLLOUT))
    rc = mosquitto_loop_write(mosq_, 1);
  if (rc == MOSQ_ERR_SUCCESS && state_ != State::kDown) rc = mosquitto_loop_misc(mosq_);
  if (rc != MOSQ_ERR_SUCCESS && state_ != State::kDown) lost(error_text(rc));
}

void MqttTransport::lost(const std::string& reason) {
  if (state_ == State::kDown) return;
  state_ = State::kDown;
  if (listener_) listener_->on_connection_lost(reason);
}

void MqttTransport::close(std::chrono::milliseconds timeout) {
  if (state_ == State::kConnected) {
    mosquitto_disconnect(mosq_);
    // Give the DISCONNECT packet a chance to leave.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (mosquitto_want_write(mosq_) && std::chrono::steady_clock::now() < deadline &&
           mosquitto_loop_write(mosq_, 1) == MOSQ_ERR_SUCCESS) {
    }
  }
  state_ = State::kDown;
  if (unacked_ && listener_) listener_->on_failed(unacked_, "closed before the broker acknowledged");
  unacked_ = 0;
  mosquitto_destroy(mosq_);
  mosq_ = nullptr;
}

void MqttTransport::on_connect(struct mosquitto*, void* data, int rc) {
  auto* self = static_cast<MqttTransport*>(data);
  if (rc != 0) {
    // Refused by the broker (bad credentials, not authorised, ...): retried with backoff, reported once.
    self->lost(std::string("the broker refused the connection: ") + mosquitto_connack_string(rc));
    return;
  }
  self->state_ = State::kConnected;
  if (self->listener_) self->listener_->on_connected();
}

void MqttTransport::on_disconnect(struct mosquitto*, void* data, int rc) {
  auto* self = static_cast<MqttTransport*>(data);
  self->lost(rc == 0 ? "disconnected" : "the connection to the broker was lost");
}

void MqttTransport::on_publish(struct mosquitto*, void* data, int) {
  auto* self = static_cast<MqttTransport*>(data);
  if (self->unacked_) --self->unacked_;
  if (self->listener_) self->listener_->on_delivered(1);
}

}  // namespace retinanet::publish
