#include "model/serving/instance.h"

#include <algorithm>
#include <map>

#include "common/model_error.h"

namespace retinanet {

namespace {

using Clock = std::chrono::steady_clock;

// One forward pass at a time per device in the whole process: every pass already uses all the device's cores (or
// the GPU), so instances that are not shared take turns instead of running N times the threads on the same cores.
std::mutex& device_lock(const std::string& device) {
  static std::mutex registry;
  static auto* locks = new std::map<std::string, std::unique_ptr<std::mutex>>;  // never freed: outlives workers
  std::lock_guard<std::mutex> lock(registry);
  auto& m = (*locks)[device];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

}  // namespace

// A stream's slots, guarded by its instance's mutex.
struct InstanceStream::State {
  struct Pending {
    FrameRequest request;
    Clock::time_point since;
    bool sync = false;
    uint64_t ticket = 0;
    uint64_t epoch = 0;
  };
  std::optional<Pending> waiting;      // at most one frame of the stream waits
  uint64_t tickets = 0;                // frames handed over so far
  std::optional<FrameResult> sync_result;
  uint64_t sync_ticket = 0;            // which run() the sync result answers
  std::optional<FrameResult> latest;   // the newest finished result of submit_latest()
  uint64_t epoch = 0;                  // bumped by clear(): results of an older epoch are not delivered
  bool cancelled = false;
  bool attached = true;
};

struct InferenceInstance::Waiting {
  std::shared_ptr<InstanceStream::State> stream;
  InstanceStream::State::Pending pending;
};

InstanceStream::InstanceStream(std::shared_ptr<InferenceInstance> instance, std::shared_ptr<State> state)
    : instance_(std::move(instance)), state_(std::move(state)) {}

InstanceStream::~InstanceStream() { instance_->detach(state_); }

void InstanceStream::submit_latest(FrameRequest request) {
  std::optional<State::Pending> dropped;  // released after the lock: its hold may unref a buffer
  {
    std::lock_guard<std::mutex> lock(instance_->mutex_);
    if (state_->waiting) {
      dropped = std::move(state_->waiting);
      ++instance_->stats_.replaced;
    }
    state_->waiting = State::Pending{std::move(request), Clock::now(), false, ++state_->tickets, state_->epoch};
  }
  instance_->work_ready_.notify_all();
}

FrameResult InstanceStream::run(FrameRequest request) {
  std::optional<State::Pending> dropped;
  std::unique_lock<std::mutex> lock(instance_->mutex_);
  if (state_->cancelled) throw StreamCancelled();
  if (state_->waiting) dropped = std::move(state_->waiting);
  const uint64_t ticket = ++state_->tickets;
  state_->waiting = State::Pending{std::move(request), Clock::now(), true, ticket, state_->epoch};
  instance_->work_ready_.notify_all();
  instance_->done_.wait(lock, [&] {
    return state_->cancelled || (state_->sync_result && state_->sync_ticket == ticket);
  });
  if (!(state_->sync_result && state_->sync_ticket == ticket)) {
    if (state_->waiting && state_->waiting->ticket == ticket) dropped = std::move(state_->waiting);
    lock.unlock();
    throw StreamCancelled();
  }
  FrameResult result = std::move(*state_->sync_result);
  state_->sync_result.reset();
  lock.unlock();
  if (!result.error.empty()) throw ModelError(result.error);
  return result;
}

std::optional<FrameResult> InstanceStream::newest() const {
  std::lock_guard<std::mutex> lock(instance_->mutex_);
  return state_->latest;
}

std::optional<FrameResult> InstanceStream::newest_unless(std::optional<uint64_t> known) const {
  std::lock_guard<std::mutex> lock(instance_->mutex_);
  if (!state_->latest || (known && state_->latest->frame == *known)) return std::nullopt;
  return state_->latest;
}

void InstanceStream::clear() {
  std::optional<State::Pending> dropped;
  std::lock_guard<std::mutex> lock(instance_->mutex_);
  dropped = std::move(state_->waiting);
  state_->waiting.reset();
  state_->latest.reset();
  state_->sync_result.reset();
  state_->cancelled = false;
  ++state_->epoch;
}

void InstanceStream::cancel() {
  {
    std::lock_guard<std::mutex> lock(instance_->mutex_);
    state_->cancelled = true;
  }
  instance_->done_.notify_all();
}

std::shared_ptr<InferenceInstance> InferenceInstance::create(const InstanceSettings& settings) {
  std::shared_ptr<InferenceInstance> instance(new InferenceInstance(settings));
  instance->worker_ = std::thread([raw = instance.get()] { raw->work(); });
  return instance;
}

InferenceInstance::InferenceInstance(const InstanceSettings& settings)
    : settings_(settings), detector_(std::make_unique<Detector>(settings.detector)) {
  if (settings_.batch_size < 1) throw ModelError("batch size must be at least 1");
}

InferenceInstance::~InferenceInstance() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  if (worker_.joinable()) worker_.join();
}

std::unique_ptr<InstanceStream> InferenceInstance::open_stream() {
  auto state = std::make_shared<InstanceStream::State>();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    streams_.push_back(state);
  }
  return std::unique_ptr<InstanceStream>(new InstanceStream(shared_from_this(), state));
}

InferenceInstance::Stats InferenceInstance::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void InferenceInstance::detach(const std::shared_ptr<InstanceStream::State>& state) {
  std::optional<InstanceStream::State::Pending> dropped;
  std::lock_guard<std::mutex> lock(mutex_);
  state->attached = false;
  dropped = std::move(state->waiting);
  state->waiting.reset();
  streams_.erase(std::remove(streams_.begin(), streams_.end(), state), streams_.end());
}

void InferenceInstance::work() {
  for (;;) {
    std::vector<Waiting> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      auto oldest = [&]() -> InstanceStream::State* {
        InstanceStream::State* first = nullptr;
        for (const auto& s : streams_)
          if (s->waiting && (!first || s->waiting->since < first->waiting->since)) first = s.get();
        return first;
      };
      auto same_size = [](const ImageView& a, const ImageView& b) { return a.width == b.width && a.height == b.height; };
      work_ready_.wait(lock, [&] { return stopping_ || oldest(); });
      if (stopping_) return;
      if (settings_.batch_size > 1 && settings_.batch_timeout.count() > 0) {
        // The oldest frame waits for others of its size, up to the timeout.
        const Clock::time_point deadline = oldest()->waiting->since + settings_.batch_timeout;
        work_ready_.wait_until(lock, deadline, [&] {
          if (stopping_) return true;
          const InstanceStream::State* first = oldest();
          if (!first) return false;
          int n = 0;
          for (const auto& s : streams_) n += s->waiting && same_size(s->waiting->request.image, first->waiting->request.image);
          return n >= settings_.batch_size;
        });
        if (stopping_) return;
        if (!oldest()) continue;
      }
      // Up to batch_size waiting frames of the oldest one's size, oldest first.
      const ImageView size = oldest()->waiting->request.image;
      std::vector<std::shared_ptr<InstanceStream::State>> ready;
      for (const auto& s : streams_)
        if (s->waiting && same_size(s->waiting->request.image, size)) ready.push_back(s);
      std::sort(ready.begin(), ready.end(), [](const auto& a, const auto& b) { return a->waiting->since < b->waiting->since; });
      if (ready.size() > static_cast<size_t>(settings_.batch_size)) ready.resize(static_cast<size_t>(settings_.batch_size));
      for (auto& s : ready) {
        batch.push_back({s, std::move(*s->waiting)});
        s->waiting.reset();
      }
    }

    // The forward pass, outside the lock: streams hand over frames meanwhile.
    std::vector<ImageView> frames;
    std::vector<Thresholds> thresholds;
    for (const Waiting& w : batch) {
      frames.push_back(w.pending.request.image);
      thresholds.push_back(w.pending.request.thresholds);
    }
    std::vector<FrameResult> results(batch.size());
    const Clock::time_point started = Clock::now();
    {
      std::lock_guard<std::mutex> device(device_lock(detector_->device()));
      try {
        std::vector<Detections> found = detector_->detect_batch(frames, thresholds);
        for (size_t i = 0; i < batch.size(); ++i) results[i].detections = std::move(found[i]);
      } catch (const std::exception& e) {
        // One bad frame must not cost the others theirs: each alone, to find which.
        for (size_t i = 0; i < batch.size(); ++i) {
          try {
            results[i].detections = std::move(detector_->detect_batch({frames[i]}, {thresholds[i]})[0]);
          } catch (const std::exception& one) {
            results[i].error = one.what();
          }
        }
      }
    }
    const double busy = std::chrono::duration<double, std::milli>(Clock::now() - started).count();

    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.batches;
      stats_.frames += batch.size();
      stats_.busy_ms += busy;
      for (size_t i = 0; i < batch.size(); ++i) {
        InstanceStream::State& s = *batch[i].stream;
        const FrameRequest& r = batch[i].pending.request;
        if (!s.attached || batch[i].pending.epoch != s.epoch) continue;  // detached or cleared meanwhile
        FrameResult& result = results[i];
        result.frame = r.frame;
        result.pts = r.pts;
        result.generation = r.generation;
        if (batch[i].pending.sync) {
          s.sync_result = std::move(result);
          s.sync_ticket = batch[i].pending.ticket;
        } else if (!s.latest || s.latest->frame <= r.frame || s.latest->generation != r.generation) {
          s.latest = std::move(result);
        }
      }
    }
    done_.notify_all();
    // `batch` goes here, outside the lock: the frames' holds are released by the worker.
  }
}

}  // namespace retinanet
