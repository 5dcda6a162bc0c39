// How many frame periods passed between two frames a tracker sees, from their timestamps: a frame dropped
// upstream (a leaky queue before a slow detector, a camera that skips frames) moves the tracks on by the time
// that passed, not by one frame. The period is the median of the last gaps between timestamps, not the caps'
// framerate: cameras advertise rates they do not keep (or 0/1), and the median shrugs off the odd drop, a burst
// or jitter. Frames without a timestamp, or with one that does not move forward, count as one period. Plain C++,
// one stream, not locked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace retinanet::tracking {

class FrameClock {
 public:
  // The frame periods since the previous frame (at least 1, at most max_periods); `timestamp_ns`: the frame's
  // timestamp, or nullopt without one.
  unsigned advance(std::optional<uint64_t> timestamp_ns, unsigned max_periods);
  // The period the clock goes by now, in nanoseconds (0 until it has seen a gap).
  uint64_t period_ns() const;
  // Forgets the timestamps (a flush, new caps, a new stream).
  void reset();

 private:
  static constexpr size_t kRemembered = 15;
  std::deque<uint64_t> gaps_;  // nanoseconds between consecutive timestamps, newest last
  std::optional<uint64_t> last_;
};

}  // namespace retinanet::tracking
