// The publishing machinery behind retinanetpublish, plain C++: a bounded MessageQueue that the streaming thread
// fills without ever waiting, and a worker thread that moves its messages to a Transport (MQTT, Kafka, a file),
// reconnects with backoff when the broker is away, and reports the connection's ups and downs as events.
//
//   streaming thread --publish()--> MessageQueue (max_queued, newest kept) --worker--> Transport --> broker
//
// Delivery: what the transport acknowledges (MQTT QoS 1/2: the broker's PUBACK/PUBCOMP; Kafka: the delivery
// report for the configured acks). While the broker is away messages wait in the queue; when it is full the
// oldest are dropped and counted. flush() (at EOS) waits for the queue to empty and every handed message to be
// acknowledged, at most the given time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "publish/backoff.h"
#include "publish/message_queue.h"
#include "publish/transport.h"

namespace retinanet::publish {

struct PublishEvent {
  enum class Kind {
    kConnectionLost,      // the broker went away (or could not be reached at start: `at_start`)
    kConnectionRestored,  // connected again; `dropped_during_outage` messages were lost meanwhile
    kDeliveryFailed,      // the transport gave messages up (`count`), e.g. Kafka's message timeout
  };
  Kind kind = Kind::kConnectionLost;
  std::string reason;
  bool at_start = false;
  uint64_t dropped_total = 0;        // queue overflow since start
  uint64_t dropped_during_outage = 0;
  double outage_seconds = 0;
  uint64_t count = 0;
};

struct PublishStats {
  uint64_t published = 0;  // acknowledged by the broker
  uint64_t dropped = 0;    // dropped because the queue was full
  uint64_t failed = 0;     // handed over but given up by the transport
  uint64_t queued = 0;     // waiting in the queue now
  bool connected = false;
};

struct FlushResult {
  bool complete = false;   // everything acknowledged within the time
  uint64_t remaining = 0;  // waiting or unacknowledged when the wait ended
};

class Publisher : private TransportListener {
 public:
  using EventHandler = std::function<void(const PublishEvent&)>;

  // `on_event` is called on the worker thread, with no lock of the Publisher held.
  Publisher(std::unique_ptr<Transport> transport, size_t max_queued, EventHandler on_event,
            Backoff backoff = Backoff());
  ~Publisher();  // stop(0) when still running

  void start();
  // Never blocks on the broker: a short lock to append, then the worker is woken.
  void publish(std::string payload);
  // Waits (the caller's thread) until nothing is waiting or unacknowledged, `timeout` at most, or cancel_flush().
  FlushResult flush(std::chrono::milliseconds timeout);
  void cancel_flush();  // from another thread: a running flush() returns now
  // Stops the worker and closes the connection (waiting at most `timeout` for it); waiting messages are dropped.
  void stop(std::chrono::milliseconds timeout);

  PublishStats stats() const;
  std::string describe() const { return description_; }

 private:
  void run();
  void wake();
  void hand_over();
  void post(const PublishEvent& event);
  // TransportListener, called on the worker thread.
  void on_connected() override;
  void on_connection_lost(const std::string& reason) override;
  void on_delivered(size_t count) override;
  void on_failed(size_t count, const std::string& reason) override;

  std::unique_ptr<Transport> transport_;
  const std::string description_;
  MessageQueue queue_;
  EventHandler on_event_;
  Backoff backoff_;
  int wake_fd_ = -1;  // eventfd: the streaming thread (and librdkafka) write, the worker polls

  std::thread worker_;
  std::atomic<bool> stopping_{false};

  // Worker-only state: the connection as the worker last saw it.
  bool ever_connected_ = false;
  bool lost_ = false;  // an outage is in progress (reported once)
  std::chrono::steady_clock::time_point outage_start_;
  uint64_t dropped_at_outage_start_ = 0;
  std::chrono::steady_clock::time_point next_attempt_;

  // Shared with stats() and flush(): under mutex_.
  mutable std::mutex mutex_;
  std::condition_variable drained_;
  uint64_t published_ = 0, failed_ = 0;
  size_t in_flight_ = 0;
  bool connected_ = false;
  uint64_t flush_generation_ = 0;  // cancel_flush() bumps it
};

}  // namespace retinanet::publish
