#include "tracking/frame_clock.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace retinanet::tracking {

uint64_t FrameClock::period_ns() const {
  if (gaps_.empty()) return 0;
  std::vector<uint64_t> sorted(gaps_.begin(), gaps_.end());
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  return sorted[sorted.size() / 2];
}

unsigned FrameClock::advance(std::optional<uint64_t> timestamp_ns, unsigned max_periods) {
  max_periods = std::max(1u, max_periods);
  if (!timestamp_ns) return 1;
  if (!last_ || *timestamp_ns <= *last_) {
    last_ = timestamp_ns;  // a first frame, or time going back (a new stream without a flush): start from here
    return 1;
  }
  const uint64_t gap = *timestamp_ns - *last_;
  last_ = timestamp_ns;
  // The period as it was before this gap: a gap of several periods must not count itself in.
  const uint64_t period = period_ns();
  gaps_.push_back(gap);
  if (gaps_.size() > kRemembered) gaps_.pop_front();
  if (period == 0) return 1;
  const double periods = std::round(static_cast<double>(gap) / static_cast<double>(period));
  return static_cast<unsigned>(std::clamp(periods, 1.0, static_cast<double>(max_periods)));
}

void FrameClock::reset() {
  gaps_.clear();
  last_.reset();
}

}  // namespace retinanet::tracking
