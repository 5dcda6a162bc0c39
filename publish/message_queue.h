// The bounded queue between the streaming thread and the publisher's worker. push() never blocks and never
// fails: when the queue is full the oldest message is dropped (the newest detections matter most to a live
// consumer) and counted. Thread-safe; one lock, held only to move a string in or out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

namespace retinanet::publish {

class MessageQueue {
 public:
  explicit MessageQueue(size_t capacity);  // capacity >= 1

  // Appends `message`; drops (and counts) the oldest one when full. Returns true when one was dropped.
  bool push(std::string message);
  // Puts back at the front a message that was popped but could not be handed over; when the queue filled up in
  // the meantime, it is that (oldest) message which is dropped and counted.
  void push_front(std::string message);
  std::optional<std::string> pop();

  size_t size() const;
  size_t capacity() const { return capacity_; }
  uint64_t dropped() const;  // messages dropped because the queue was full, since construction
  // Drops every waiting message (not counted as overflow) and returns how many there were.
  size_t clear();

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<std::string> messages_;
  uint64_t dropped_ = 0;
};

}  // namespace retinanet::publish
