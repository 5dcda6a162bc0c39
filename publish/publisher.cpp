#include "publish/publisher.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace retinanet::publish {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The worker wakes at least this often (timers: reconnects, flush checks), whatever the transport says.
constexpr milliseconds kMaxSleep{250};

}  // namespace

Publisher::Publisher(std::unique_ptr<Transport> transport, size_t max_queued, EventHandler on_event, Backoff backoff)
    : transport_(std::move(transport)),
      description_(transport_->describe()),
      queue_(max_queued),
      on_event_(std::move(on_event)),
      backoff_(backoff) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  transport_->set_listener(this);
}

Publisher::~Publisher() {
  stop(milliseconds(0));
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Publisher::start() {
  if (worker_.joinable()) return;
  stopping_ = false;
  next_attempt_ = Clock::now();
  worker_ = std::thread([this] { run(); });
}

void Publisher::wake() {
  const uint64_t one = 1;
  // A full counter (never in practice) still leaves the fd readable: nothing is lost by ignoring the result.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void Publisher::publish(std::string payload) {
  queue_.push(std::move(payload));
  wake();
}

FlushResult Publisher::flush(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mutex_);
  const uint64_t generation = flush_generation_;
  auto pending = [&] { return static_cast<uint64_t>(queue_.size() + in_flight_); };
  wake();
  drained_.wait_until(lock, deadline, [&] {
    return pending() == 0 || generation != flush_generation_ || stopping_ || !worker_.joinable();
  });
  return {pending() == 0, pending()};
}

void Publisher::cancel_flush() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++flush_generation_;
  }
  drained_.notify_all();
}

void Publisher::stop(milliseconds timeout) {
  if (!worker_.joinable()) return;
  stopping_ = true;
  drained_.notify_all();
  wake();
  worker_.join();
  transport_->close(timeout);
  queue_.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  connected_ = false;
}

PublishStats Publisher::stats() const {
  PublishStats s;
  s.dropped = queue_.dropped();
  s.queued = queue_.size();
  std::lock_guard<std::mutex> lock(mutex_);
  s.published = published_;
  s.failed = failed_;
  s.connected = connected_;
  return s;
}

void Publisher::post(const PublishEvent& event) {
  if (on_event_) on_event_(event);
}

void Publisher::hand_over() {
  while (!stopping_ && transport_->can_send()) {
    std::optional<std::string> message;
    {
      // Popped and counted in flight under one lock, so that flush() never sees it in neither place.
      std::lock_guard<std::mutex> lock(mutex_);
      message = queue_.pop();
      if (!message) return;
      ++in_flight_;
    }
    if (transport_->send(*message)) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    --in_flight_;
    queue_.push_front(std::move(*message));
    return;
  }
}

void Publisher::run() {
  while (!stopping_) {
    const auto now = Clock::now();
    if (transport_->wants_connect() && now >= next_attempt_) {
      std::string error;
      if (!transport_->connect(error)) on_connection_lost(error);
    }
    hand_over();

    milliseconds wait = kMaxSleep;
    if (transport_->wants_connect())
      wait = std::clamp(std::chrono::duration_cast<milliseconds>(next_attempt_ - Clock::now()), milliseconds(0), wait);
    transport_->service(wake_fd_, wait);
    uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(wake_fd_, &count, sizeof count);  // EAGAIN when not woken: fine
    hand_over();

    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.size() + in_flight_ == 0) drained_.notify_all();
  }
}

void Publisher::on_connected() {
  backoff_.reset();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    connected_ = true;
  }
  const bool was_lost = lost_;
  ever_connected_ = true;
  lost_ = false;
  if (!was_lost) return;
  PublishEvent event;
  event.kind = PublishEvent::Kind::kConnectionRestored;
  event.dropped_total = queue_.dropped();
  event.dropped_during_outage = event.dropped_total - dropped_at_outage_start_;
  event.outage_seconds = std::chrono::duration<double>(Clock::now() - outage_start_).count();
  post(event);
}

void Publisher::on_connection_lost(const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    connected_ = false;
  }
  next_attempt_ = Clock::now() + backoff_.next();
  if (lost_ || stopping_) return;  // one report per outage, however many attempts fail
  lost_ = true;
  outage_start_ = Clock::now();
  dropped_at_outage_start_ = queue_.dropped();
  PublishEvent event;
  event.kind = PublishEvent::Kind::kConnectionLost;
  event.reason = reason;
  event.at_start = !ever_connected_;
  event.dropped_total = dropped_at_outage_start_;
  post(event);
}

void Publisher::on_delivered(size_t count) {
  std::lock_guard<std::mutex> lock(mutex_);
  published_ += count;
  in_flight_ -= std::min(in_flight_, count);
  if (queue_.size() + in_flight_ == 0) drained_.notify_all();
}

void Publisher::on_failed(size_t count, const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    failed_ += count;
    in_flight_ -= std::min(in_flight_, count);
    if (queue_.size() + in_flight_ == 0) drained_.notify_all();
  }
  if (stopping_) return;
  PublishEvent event;
  event.kind = PublishEvent::Kind::kDeliveryFailed;
  event.reason = reason;
  event.count = count;
  event.dropped_total = queue_.dropped();
  post(event);
}

}  // namespace retinanet::publish
