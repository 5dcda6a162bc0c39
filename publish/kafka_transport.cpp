#include "publish/kafka_transport.h"

#include <librdkafka/rdkafka.h>
#include <poll.h>

#include <cctype>
#include <cerrno>
#include <cstdint>

#include "publish/endpoint.h"
#include "publish/publish_error.h"
#include "publish/topic.h"

namespace retinanet::publish {

namespace {

void check_topic(const std::string& topic) {
  bool legal = !topic.empty() && topic.size() <= 249 && topic != "." && topic != "..";
  for (char c : topic)
    legal = legal && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  if (!legal)
    throw PublishError("Kafka topic \"" + topic + "\" is not a legal topic name (1 to 249 of A-Z a-z 0-9 . _ -)");
}

std::string kafka_acks(const std::string& acks) {
  if (acks == "all" || acks == "-1") return "all";
  if (acks == "0" || acks == "1") return acks;
  throw PublishError("Kafka acks \"" + acks + "\": expected all, 1 or 0");
}

void set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char error[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw PublishError("Kafka setting " + name + "=" + value + ": " + error);
  }
}

}  // namespace

KafkaTransport::KafkaTransport(const PublishConfig& config)
    : bootstrap_(join_endpoints(parse_endpoints(config.address, kDefaultPort))),
      topic_(expand_topic(config.topic.empty() ? default_topic(Method::kKafka) : config.topic, config.source)),
      key_(config.source) {
  check_topic(topic_);
  const std::string acks = kafka_acks(config.kafka.acks);
  const std::string& compression = config.kafka.compression;
  if (compression != "none" && compression != "gzip" && compression != "snappy" && compression != "lz4" &&
      compression != "zstd")
    throw PublishError("Kafka compression \"" + compression + "\": expected none, gzip, snappy, lz4 or zstd");

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap_);
  set(conf, "client.id", "retinanet-" + config.source);
  set(conf, "acks", acks);
  set(conf, "compression.codec", compression);
  // Reconnect from 100 ms to 10 s, as the MQTT side does; give a message up after 5 minutes (librdkafka's default).
  set(conf, "reconnect.backoff.ms", "100");
  set(conf, "reconnect.backoff.max.ms", "10000");
  set(conf, "queue.buffering.max.messages", std::to_string(kWindow));
  // Extra settings, "name=value;name=value", last: they may override the above.
  const std::string& extra = config.kafka.extra;
  for (size_t start = 0; start < extra.size();) {
    size_t end = extra.find(';', start);
    if (end == std::string::npos) end = extra.size();
    const std::string item = extra.substr(start, end - start);
    start = end + 1;
    if (item.find_first_not_of(" ") == std::string::npos) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      rd_kafka_conf_destroy(conf);
      throw PublishError("Kafka setting \"" + item + "\": expected name=value");
    }
    set(conf, item.substr(0, eq), item.substr(eq + 1));
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_error_cb(conf, on_error);
  // librdkafka's own log lines (every refused connection, say) would go to stderr: what matters reaches the
  // element through error_cb and the delivery reports, and from there the bus.
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int, const char*, const char*) {});
  char error[512];
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);  // owns conf when it succeeds
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    throw PublishError(std::string("Kafka producer: ") + error);
  }
  main_queue_ = rd_kafka_queue_get_main(rk_);
}

KafkaTransport::~KafkaTransport() {
  if (main_queue_) rd_kafka_queue_destroy(main_queue_);
  if (rk_) rd_kafka_destroy(rk_);
}

std::string KafkaTransport::describe() const { return "kafka://" + bootstrap_ + " topic " + topic_; }

void KafkaTransport::enable_wakeups(int wake_fd) {
  if (wake_fd == wake_fd_) return;
  // librdkafka writes these 8 bytes (an eventfd increment) when an event arrives on its empty main queue.
  static const uint64_t one = 1;
  rd_kafka_queue_io_event_enable(main_queue_, wake_fd, &one, sizeof one);
  wake_fd_ = wake_fd;
}

bool KafkaTransport::send(const std::string& payload) {
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      rk_, RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_KEY(key_.data(), key_.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++unacked_;
    return true;
  }
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return false;  // kept by the worker, tried again
  if (listener_) listener_->on_failed(1, std::string("Kafka refused the message: ") + rd_kafka_err2str(err));
  return true;  // given up (too large, say): not retried
}

void KafkaTransport::service(int wake_fd, std::chrono::milliseconds timeout) {
  enable_wakeups(wake_fd);
  // Events already queued are served first; then the worker sleeps until woken (new message, librdkafka event).
  if (rd_kafka_poll(rk_, 0) > 0) return;
  pollfd fd{wake_fd, POLLIN, 0};
  ::poll(&fd, 1, static_cast<int>(timeout.count()));
  rd_kafka_poll(rk_, 0);
}

void KafkaTransport::close(std::chrono::milliseconds timeout) {
  if (!rk_) return;
  if (unacked_) rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
  // What is still outstanding fails now, with its delivery report, instead of at destruction.
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(rk_, 0);
  if (unacked_ && listener_) listener_->on_failed(unacked_, "closed before the broker acknowledged");
  unacked_ = 0;
  rd_kafka_queue_destroy(main_queue_);
  main_queue_ = nullptr;
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
}

void KafkaTransport::on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* data) {
  auto* self = static_cast<KafkaTransport*>(data);
  if (self->unacked_) --self->unacked_;
  if (!self->listener_) return;
  if (message->err) {
    self->listener_->on_failed(1, std::string("Kafka delivery failed: ") + rd_kafka_err2str(message->err));
    return;
  }
  if (self->down_ || !self->announced_) {
    self->down_ = false;
    self->announced_ = true;
    self->listener_->on_connected();
  }
  self->listener_->on_delivered(1);
}

void KafkaTransport::on_error(rd_kafka_t* rk, int err, const char* reason, void* data) {
  auto* self = static_cast<KafkaTransport*>(data);
  // Single connection failures are librdkafka's business (it retries); all brokers down is an outage.
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__FATAL) {
    std::string text = reason;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char fatal[512];
      rd_kafka_fatal_error(rk, fatal, sizeof fatal);
      text = fatal;
    }
    if (self->down_) return;
    self->down_ = true;
    if (self->listener_) self->listener_->on_connection_lost(text);
  }
}

}  // namespace retinanet::publish
