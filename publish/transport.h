// One connection to one kind of broker, driven by the Publisher's worker thread only (never by the streaming
// thread): the worker asks it to connect, hands it messages while it has room, and lets it do its I/O. It
// reports what happens through TransportListener, on the same worker thread, from within those calls.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace retinanet::publish {

class TransportListener {
 public:
  virtual ~TransportListener() = default;
  virtual void on_connected() = 0;
  virtual void on_connection_lost(const std::string& reason) = 0;
  virtual void on_delivered(size_t count) = 0;  // acknowledged by the broker (or written, QoS 0 / file)
  virtual void on_failed(size_t count, const std::string& reason) = 0;  // handed over, never to be delivered
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual void set_listener(TransportListener* listener) = 0;
  // A short description for messages: "mqtt://127.0.0.1:1883 topic retinanet/cam1".
  virtual std::string describe() const = 0;
  // True when the worker should call connect() (at most once per backoff delay); a transport that reconnects by
  // itself (librdkafka) never asks.
  virtual bool wants_connect() const = 0;
  // Starts a connection attempt; false with `error` set when it failed at once (the worker retries after a delay).
  virtual bool connect(std::string& error) = 0;
  // Whether one more message can be handed over now.
  virtual bool can_send() const = 0;
  // Hands one message over; false when it was not taken (the worker keeps it).
  virtual bool send(const std::string& payload) = 0;
  // Does the connection's I/O, waiting at most `timeout` for it or for `wake_fd` (readable: new messages).
  virtual void service(int wake_fd, std::chrono::milliseconds timeout) = 0;
  // Messages handed over and neither delivered nor failed yet.
  virtual size_t unacknowledged() const = 0;
  // Closes the connection; what is still unacknowledged is reported failed. Waits at most `timeout`.
  virtual void close(std::chrono::milliseconds timeout) = 0;
};

}  // namespace retinanet::publish
