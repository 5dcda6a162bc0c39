// Kafka through librdkafka. librdkafka connects, reconnects (reconnect.backoff.ms to reconnect.backoff.max.ms)
// and batches by itself; this transport hands it messages keyed by the source id (so that one camera's messages
// stay in one partition, in order), counts its delivery reports, and turns its "all brokers down" error into a
// lost connection. While the brokers are down only one message at a time is handed over (a probe): its delivery
// report says the brokers are back; the rest wait in the Publisher's bounded queue. librdkafka's own queue
// (the main queue's events: delivery reports, errors) wakes the worker through the same wake fd.
#pragma once

#include <string>

#include "publish/publish_config.h"
#include "publish/transport.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_message_s rd_kafka_message_t;
typedef struct rd_kafka_queue_s rd_kafka_queue_t;

namespace retinanet::publish {

class KafkaTransport : public Transport {
 public:
  static constexpr size_t kWindow = 1000;  // handed over and not yet reported, while the brokers are up
  static constexpr int kDefaultPort = 9092;

  // Throws PublishError for a bad address list, a topic Kafka refuses (1-249 of [A-Za-z0-9._-]), bad acks or
  // compression, or a setting librdkafka refuses (its own message).
  KafkaTransport(const PublishConfig& config);
  ~KafkaTransport() override;

  void set_listener(TransportListener* listener) override { listener_ = listener; }
  std::string describe() const override;
  bool wants_connect() const override { return false; }
  bool connect(std::string&) override { return true; }
  bool can_send() const override { return unacked_ < (down_ ? 1 : kWindow); }
  bool send(const std::string& payload) override;
  void service(int wake_fd, std::chrono::milliseconds timeout) override;
  size_t unacknowledged() const override { return unacked_; }
  void close(std::chrono::milliseconds timeout) override;

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* self);
  static void on_error(rd_kafka_t*, int err, const char* reason, void* self);
  void enable_wakeups(int wake_fd);

  std::string bootstrap_;
  std::string topic_;
  std::string key_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* main_queue_ = nullptr;
  int wake_fd_ = -1;  // the one librdkafka writes to
  TransportListener* listener_ = nullptr;
  bool down_ = false;
  bool announced_ = false;  // on_connected() told once the first delivery succeeded
  size_t unacked_ = 0;
};

}  // namespace retinanet::publish
