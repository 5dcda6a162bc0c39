// Which frames a detector upstream inferred, as far as a tracker downstream can tell. A frame whose metas are
// marked stale (retinanetdetect's carried detections) was not inferred; a frame with fresh metas was. A frame
// with no metas at all is ambiguous: a producer that infers every Nth frame attaches nothing in between, and a
// detector that found nothing attaches nothing either. The cadence learns the producer's rhythm from the frames
// that had fresh metas (the smallest of the last few gaps between them) and takes an empty frame as inferred
// (nothing found: the tracks missed it) when that many frames have passed since the last inferred one, else as
// skipped (the tracks' predictions are shown). Until it has seen a gap it takes every frame as inferred, so that
// boxes never linger on a stream whose rhythm it does not know. Plain C++, one stream, not locked.
#pragma once

#include <cstdint>
#include <cstddef>
#include <deque>

namespace retinanet::tracking {

class Cadence {
 public:
  enum class Frame { kInferred, kSkipped };

  // A frame with fresh detections.
  void fresh();
  // A frame whose detections are marked as carried from an earlier frame.
  void carried();
  // A frame without any detection: inferred or skipped, by the rhythm seen so far.
  Frame empty();
  // The gap between inferred frames expected now (1: every frame).
  uint64_t expected_gap() const;
  void reset();

 private:
  static constexpr size_t kRemembered = 8;
  std::deque<uint64_t> gaps_;  // frames between consecutive frames with fresh detections, newest last
  uint64_t since_inferred_ = 0;
  bool seen_inferred_ = false;
  bool since_fresh_valid_ = false;  // since_fresh_ counts from a frame with fresh detections
  uint64_t since_fresh_ = 0;
};

}  // namespace retinanet::tracking
