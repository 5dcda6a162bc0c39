// A model instance that several streams share: one loaded Detector, one worker thread that runs every frame handed
// to it, and batches of up to `batch_size` frames of one size gathered across the streams. Streams hand frames over
// in one of two ways: run() waits for the frame's own detections (files, offline jobs), submit_latest() never
// waits (live sources) and the stream reads the newest finished result when it likes. At most one frame of a
// stream ever waits: a newer one replaces it. Nothing here calls back into its users, so no lock of theirs is ever
// taken from the worker. No LibTorch or GStreamer in this header.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "model/inference/detector.h"

namespace retinanet {

struct InstanceSettings {
  DetectorOptions detector;                 // the model, device, sizes and default thresholds it loads with
  int batch_size = 1;                       // most frames in one forward pass
  std::chrono::microseconds batch_timeout{0};  // how long the oldest waiting frame may wait for others to join it
};

// A frame handed to an instance: a view of pixels that `hold` keeps alive (a mapped GstBuffer, say) until the
// instance has done with them.
struct FrameRequest {
  ImageView image;
  std::shared_ptr<const void> hold;
  Thresholds thresholds;     // this stream's (the frames of one batch may have different ones)
  uint64_t frame = 0;        // the stream's frame number
  int64_t pts = -1;          // the frame's timestamp, passed back in the result (-1: none)
  uint64_t generation = 0;   // the stream's generation (caps, flushes) when it was submitted
};

struct FrameResult {
  Detections detections;
  uint64_t frame = 0;
  int64_t pts = -1;
  uint64_t generation = 0;
  std::string error;  // non-empty: the detector refused the frame (then there are no detections)
};

// Thrown by InstanceStream::run() when cancel() interrupted the wait (a flush or a state change).
class StreamCancelled : public std::exception {
 public:
  const char* what() const noexcept override { return "the stream was cancelled while its frame waited"; }
};

class InferenceInstance;

// A stream's handle on an instance. Its calls may come from any thread; destroying it detaches the stream (its
// waiting frame is dropped, a frame in flight finishes and is released by the worker).
class InstanceStream {
 public:
  ~InstanceStream();
  InstanceStream(const InstanceStream&) = delete;
  InstanceStream& operator=(const InstanceStream&) = delete;

  // Hands over the stream's newest frame and returns at once; a frame of this stream still waiting is dropped.
  void submit_latest(FrameRequest request);
  // Hands over one frame and waits for its detections. Throws ModelError when the detector refuses the frame and
  // StreamCancelled when cancel() is called meanwhile.
  FrameResult run(FrameRequest request);
  // The newest finished result of the frames handed over by submit_latest(), if any.
  std::optional<FrameResult> newest() const;
  // The same, unless it is the result of frame `known` (the one the caller already holds): a stream polls this on
  // every frame, and copying the same detections each time is wasted work under the instance's lock.
  std::optional<FrameResult> newest_unless(std::optional<uint64_t> known) const;
  // Drops the waiting frame and the finished result (a flush, new caps); a frame in flight is not delivered.
  void clear();
  // Wakes a run() that waits (it throws StreamCancelled) and makes later run() calls throw too, until clear().
  void cancel();

  InferenceInstance& instance() const { return *instance_; }

 private:
  friend class InferenceInstance;
  struct State;
  InstanceStream(std::shared_ptr<InferenceInstance> instance, std::shared_ptr<State> state);
  std::shared_ptr<InferenceInstance> instance_;
  std::shared_ptr<State> state_;
};

class InferenceInstance : public std::enable_shared_from_this<InferenceInstance> {
 public:
  // Loads the model (throws ModelError) and starts the worker.
  static std::shared_ptr<InferenceInstance> create(const InstanceSettings& settings);
  ~InferenceInstance();  // stops and joins the worker (after the batch in flight)

  std::unique_ptr<InstanceStream> open_stream();

  const InstanceSettings& settings() const { return settings_; }
  const ModelConfig& config() const { return detector_->config(); }
  std::string device() const { return detector_->device(); }

  struct Stats {
    uint64_t batches = 0;   // forward passes
    uint64_t frames = 0;    // frames inferred
    uint64_t replaced = 0;  // frames dropped because a newer one of the same stream replaced them
    double busy_ms = 0;     // time spent in forward passes and post-processing
  };
  Stats stats() const;

 private:
  explicit InferenceInstance(const InstanceSettings& settings);
  friend class InstanceStream;
  struct Waiting;
  void work();
  void detach(const std::shared_ptr<InstanceStream::State>& state);

  const InstanceSettings settings_;
  std::unique_ptr<Detector> detector_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;  // a frame waits, or stopping
  std::condition_variable done_;        // a run() result is in
  std::vector<std::shared_ptr<InstanceStream::State>> streams_;
  Stats stats_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace retinanet
