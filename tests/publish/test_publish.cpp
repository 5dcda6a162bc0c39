// The publishing machinery without GStreamer or a broker: the bounded queue (newest kept, drops counted, never
// blocking), the backoff, address and topic checking, and the Publisher's worker against a scripted transport
// (connection lost and back reported once each, flush bounded, messages kept while the broker is away).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "publish/backoff.h"
#include "publish/endpoint.h"
#include "publish/message_queue.h"
#include "publish/publish_error.h"
#include "publish/publisher.h"
#include "publish/topic.h"
#include "publish/transport_factory.h"

namespace rp = retinanet::publish;
using namespace std::chrono_literals;

namespace {

TEST(MessageQueue, KeepsTheNewestAndCountsDrops) {
  rp::MessageQueue q(3);
  for (int i = 0; i < 5; ++i) q.push(std::to_string(i));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.dropped(), 2u);
  EXPECT_EQ(*q.pop(), "2");
  q.push_front("2");  // room: goes back first
  EXPECT_EQ(*q.pop(), "2");
  EXPECT_EQ(*q.pop(), "3");
  EXPECT_EQ(*q.pop(), "4");
  EXPECT_FALSE(q.pop());
  q.push("a");
  q.push("b");
  q.push("c");
  q.push_front("z");  // full: the returned (oldest) message is the one dropped
  EXPECT_EQ(q.dropped(), 3u);
  EXPECT_EQ(*q.pop(), "a");
  EXPECT_THROW(rp::MessageQueue(0), std::invalid_argument);
}

TEST(MessageQueue, ManyProducersNeverLoseCount) {
  rp::MessageQueue q(100);
  std::vector<std::thread> producers;
  std::atomic<uint64_t> popped{0};
  std::atomic<bool> done{false};
  std::thread consumer([&] {
    while (!done || q.size())
      if (q.pop()) ++popped;
  });
  for (int t = 0; t < 4; ++t)
    producers.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) q.push("m");
    });
  for (auto& p : producers) p.join();
  done = true;
  consumer.join();
  EXPECT_EQ(popped + q.dropped(), 80000u);
}

TEST(Backoff, DoublesUpToTheMaximumWithJitterAndResets) {
  rp::Backoff b(100ms, 1000ms, 7);
  const int64_t bases[] = {100, 200, 400, 800, 1000, 1000};
  for (int64_t base : bases) {
    const auto d = b.next().count();
    EXPECT_LE(d, base);
    EXPECT_GE(d, base - base / 5);
  }
  EXPECT_EQ(b.attempts(), 6);
  b.reset();
  EXPECT_LE(b.next().count(), 100);
  EXPECT_THROW(rp::Backoff(0ms, 10ms), std::invalid_argument);
}

TEST(Endpoints, ParsesHostsPortsAndLists) {
  auto e = rp::parse_endpoints("broker.example.com:1884", 1883);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].host, "broker.example.com");
  EXPECT_EQ(e[0].port, 1884);
  e = rp::parse_endpoints("10.0.0.1, [::1]:9093,kafka-2", 9092);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].to_string(), "10.0.0.1:9092");
  EXPECT_EQ(e[1].host, "::1");
  EXPECT_EQ(e[1].to_string(), "[::1]:9093");
  EXPECT_EQ(rp::join_endpoints(e), "10.0.0.1:9092,[::1]:9093,kafka-2:9092");
}

TEST(Endpoints, RefusesWhatCanNeverWork) {
  for (const char* bad : {"", " ", "host:", ":1883", "host:0", "host:65536", "host:12ab", "bad_host:1883",
                          "-host:1", "a..b:1", "300.1.1.1:1883", "1.2.3:5", "::1:1883", "[::1", "[zz::1]:1",
                          "mqtt://host:1883", "a:1,,b:2", "host:1:2"}) {
    try {
      rp::parse_endpoints(bad, 1883);
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const rp::PublishError& e) {
      EXPECT_NE(std::string(e.what()).find("address"), std::string::npos) << e.what();
    }
  }
}

TEST(Topic, ExpandsTheSourceAndRefusesOtherPlaceholders) {
  EXPECT_EQ(rp::expand_topic("cameras/{source}/detections", "cam1"), "cameras/cam1/detections");
  EXPECT_EQ(rp::expand_topic("{source}{source}", "a"), "aa");
  EXPECT_EQ(rp::expand_topic("plain", "a"), "plain");
  EXPECT_THROW(rp::expand_topic("x/{camera}", "a"), rp::PublishError);
  EXPECT_THROW(rp::expand_topic("x/{source", "a"), rp::PublishError);
  EXPECT_THROW(rp::expand_topic("x}", "a"), rp::PublishError);
}

TEST(TransportFactory, RefusesBadSettingsAtOnce) {
  rp::PublishConfig c;
  c.source = "cam1";
  c.method = rp::Method::kMqtt;
  c.address = "127.0.0.1:1883";
  EXPECT_NO_THROW(rp::make_transport(c));  // makes no connection yet
  auto refused = [&](rp::PublishConfig bad, const std::string& word) {
    try {
      rp::make_transport(bad);
      ADD_FAILURE() << "accepted a config expected to fail with \"" << word << "\"";
    } catch (const rp::PublishError& e) {
      EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
    }
  };
  rp::PublishConfig b = c;
  b.topic = "cameras/+/x";
  refused(b, "topic");
  b = c;
  b.mqtt.qos = 3;
  refused(b, "QoS");
  b = c;
  b.mqtt.ca_file = "/no/such/ca.pem";
  refused(b, "/no/such/ca.pem");
  b = c;
  b.mqtt.password = "secret";
  refused(b, "username");
  b = c;
  b.source = "";
  refused(b, "source");
  b = c;
  b.method = rp::Method::kKafka;
  b.topic = "cameras/{source}";
  refused(b, "Kafka topic");
  b.topic = "";
  b.kafka.acks = "2";
  refused(b, "acks");
  b.kafka.acks = "all";
  b.kafka.compression = "brotli";
  refused(b, "compression");
  b.kafka.compression = "lz4";
  b.kafka.extra = "no.such.setting=1";
  refused(b, "no.such.setting");
  b.kafka.extra = "linger.ms=20;message.timeout.ms=30000";
  EXPECT_NO_THROW(rp::make_transport(b));
  b = c;
  b.method = rp::Method::kFile;
  b.file_path = "/no/such/dir/out.jsonl";
  refused(b, "/no/such/dir/out.jsonl");
  EXPECT_EQ(rp::parse_method("kafka"), rp::Method::kKafka);
  EXPECT_FALSE(rp::parse_method("amqp"));
}

// A broker connection scripted by the test: up or down, acknowledging what it is handed (or not).
class ScriptedTransport : public rp::Transport {
 public:
  std::atomic<bool> reachable{true};
  std::atomic<bool> acknowledge{true};
  std::mutex mutex;
  std::vector<std::string> delivered;

  void set_listener(rp::TransportListener* l) override { listener_ = l; }
  std::string describe() const override { return "scripted"; }
  bool wants_connect() const override { return !up_; }
  bool connect(std::string& error) override {
    if (!reachable) {
      error = "unreachable";
      return false;
    }
    up_ = true;
    listener_->on_connected();
    return true;
  }
  bool can_send() const override { return up_ && pending_.size() < 4; }
  bool send(const std::string& payload) override {
    pending_.push_back(payload);
    return true;
  }
  void service(int, std::chrono::milliseconds timeout) override {
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(timeout, 2ms));
    if (up_ && !reachable) {
      up_ = false;
      listener_->on_connection_lost("gone");  // what was pending stays pending, re-sent after reconnection
      return;
    }
    if (!up_ || !acknowledge) return;
    std::lock_guard<std::mutex> lock(mutex);
    for (auto& p : pending_) delivered.push_back(p);
    listener_->on_delivered(pending_.size());
    pending_.clear();
  }
  size_t unacknowledged() const override { return pending_.size(); }
  void close(std::chrono::milliseconds) override {
    if (!pending_.empty()) listener_->on_failed(pending_.size(), "closed");
    pending_.clear();
  }

 private:
  rp::TransportListener* listener_ = nullptr;
  bool up_ = false;
  std::vector<std::string> pending_;
};

struct Events {
  std::mutex mutex;
  std::vector<rp::PublishEvent> list;
  rp::Publisher::EventHandler handler() {
    return [this](const rp::PublishEvent& e) {
      std::lock_guard<std::mutex> lock(mutex);
      list.push_back(e);
    };
  }
  size_t count(rp::PublishEvent::Kind kind) {
    std::lock_guard<std::mutex> lock(mutex);
    size_t n = 0;
    for (auto& e : list) n += e.kind == kind;
    return n;
  }
};

template <typename F>
bool eventually(F condition, std::chrono::milliseconds timeout = 3000ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return condition();
}

TEST(Publisher, DeliversInOrderAndFlushes) {
  auto transport = std::make_unique<ScriptedTransport>();
  ScriptedTransport* t = transport.get();
  Events events;
  rp::Publisher p(std::move(transport), 100, events.handler(), rp::Backoff(1ms, 5ms));
  p.start();
  for (int i = 0; i < 50; ++i) p.publish(std::to_string(i));
  const rp::FlushResult r = p.flush(3000ms);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(p.stats().published, 50u);
  std::lock_guard<std::mutex> lock(t->mutex);
  ASSERT_EQ(t->delivered.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(t->delivered[i], std::to_string(i));
  EXPECT_EQ(events.list.size(), 0u) << "a healthy connection reports nothing";
}

TEST(Publisher, BrokerAwayAtStartThenBackKeepsTheNewest) {
  auto transport = std::make_unique<ScriptedTransport>();
  ScriptedTransport* t = transport.get();
  t->reachable = false;
  Events events;
  rp::Publisher p(std::move(transport), 10, events.handler(), rp::Backoff(1ms, 5ms));
  p.start();
  ASSERT_TRUE(eventually([&] { return events.count(rp::PublishEvent::Kind::kConnectionLost) == 1; }));
  {
    std::lock_guard<std::mutex> lock(events.mutex);
    EXPECT_TRUE(events.list[0].at_start);
    EXPECT_EQ(events.list[0].reason, "unreachable");
  }
  const auto before = std::chrono::steady_clock::now();
  for (int i = 0; i < 25; ++i) p.publish(std::to_string(i));
  EXPECT_LT(std::chrono::steady_clock::now() - before, 50ms) << "publish() never waits for the broker";
  std::this_thread::sleep_for(30ms);  // many failed attempts: still one report
  EXPECT_EQ(events.count(rp::PublishEvent::Kind::kConnectionLost), 1u);
  EXPECT_EQ(p.stats().dropped, 15u);
  EXPECT_FALSE(p.stats().connected);
  t->reachable = true;
  EXPECT_TRUE(p.flush(3000ms).complete);
  ASSERT_TRUE(eventually([&] { return events.count(rp::PublishEvent::Kind::kConnectionRestored) == 1; }));
  std::lock_guard<std::mutex> lock(t->mutex);
  ASSERT_EQ(t->delivered.size(), 10u);
  EXPECT_EQ(t->delivered.front(), "15");
  EXPECT_EQ(t->delivered.back(), "24");
  std::lock_guard<std::mutex> lock2(events.mutex);
  EXPECT_EQ(events.list.back().dropped_during_outage, 15u);
}

TEST(Publisher, LostMidStreamThenBackReportsEachOnce) {
  auto transport = std::make_unique<ScriptedTransport>();
  ScriptedTransport* t = transport.get();
  Events events;
  rp::Publisher p(std::move(transport), 1000, events.handler(), rp::Backoff(1ms, 5ms));
  p.start();
  for (int i = 0; i < 10; ++i) p.publish("a" + std::to_string(i));
  ASSERT_TRUE(p.flush(3000ms).complete);
  t->acknowledge = false;
  for (int i = 0; i < 3; ++i) p.publish("b" + std::to_string(i));  // handed over, not acknowledged
  std::this_thread::sleep_for(20ms);
  t->reachable = false;
  ASSERT_TRUE(eventually([&] { return events.count(rp::PublishEvent::Kind::kConnectionLost) == 1; }));
  for (int i = 0; i < 20; ++i) p.publish("c" + std::to_string(i));
  EXPECT_FALSE(p.flush(50ms).complete) << "a bounded wait while the broker is away";
  t->acknowledge = true;
  t->reachable = true;
  ASSERT_TRUE(p.flush(3000ms).complete);
  EXPECT_EQ(events.count(rp::PublishEvent::Kind::kConnectionLost), 1u);
  EXPECT_EQ(events.count(rp::PublishEvent::Kind::kConnectionRestored), 1u);
  EXPECT_EQ(p.stats().published, 33u);
  EXPECT_EQ(p.stats().dropped, 0u);
}

TEST(Publisher, FlushIsCancelledAndStopReportsTheUnacknowledged) {
  auto transport = std::make_unique<ScriptedTransport>();
  ScriptedTransport* t = transport.get();
  t->acknowledge = false;
  Events events;
  rp::Publisher p(std::move(transport), 100, events.handler(), rp::Backoff(1ms, 5ms));
  p.start();
  for (int i = 0; i < 6; ++i) p.publish("m");
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    p.cancel_flush();
  });
  const auto before = std::chrono::steady_clock::now();
  const rp::FlushResult r = p.flush(10000ms);
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5000ms);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.remaining, 6u);
  p.stop(0ms);
  EXPECT_EQ(p.stats().failed, 4u) << "the 4 handed over fail at close; the 2 queued are dropped";
}

}  // namespace
