#include "publish/message_queue.h"

#include <stdexcept>
#include <utility>

namespace retinanet::publish {

MessageQueue::MessageQueue(size_t capacity) : capacity_(capacity) {
  if (capacity == 0) throw std::invalid_argument("MessageQueue: the capacity must be at least 1");
}

bool MessageQueue::push(std::string message) {
  std::lock_guard<std::mutex> lock(mutex_);
  bool dropped = false;
  if (messages_.size() >= capacity_) {
    messages_.pop_front();
    ++dropped_;
    dropped = true;
  }
  messages_.push_back(std::move(message));
  return dropped;
}

void MessageQueue::push_front(std::string message) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (messages_.size() >= capacity_) {
    ++dropped_;
    return;
  }
  messages_.push_front(std::move(message));
}

std::optional<std::string> MessageQueue::pop() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (messages_.empty()) return std::nullopt;
  std::string message = std::move(messages_.front());
  messages_.pop_front();
  return message;
}

size_t MessageQueue::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return messages_.size();
}

uint64_t MessageQueue::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

size_t MessageQueue::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  const size_t n = messages_.size();
  messages_.clear();
  return n;
}

}  // namespace retinanet::publish
