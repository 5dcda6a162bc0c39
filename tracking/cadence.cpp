#include "tracking/cadence.h"

#include <algorithm>

namespace retinanet::tracking {

void Cadence::fresh() {
  if (since_fresh_valid_) {
    gaps_.push_back(since_fresh_ + 1);
    if (gaps_.size() > kRemembered) gaps_.pop_front();
  }
  since_fresh_valid_ = true;
  since_fresh_ = 0;
  seen_inferred_ = true;
  since_inferred_ = 0;
}

void Cadence::carried() {
  ++since_fresh_;
  ++since_inferred_;
}

Cadence::Frame Cadence::empty() {
  ++since_fresh_;
  if (!seen_inferred_ || since_inferred_ + 1 >= expected_gap()) {
    seen_inferred_ = true;
    since_inferred_ = 0;
    return Frame::kInferred;
  }
  ++since_inferred_;
  return Frame::kSkipped;
}

uint64_t Cadence::expected_gap() const {
  if (gaps_.empty()) return 1;
  return *std::min_element(gaps_.begin(), gaps_.end());
}

void Cadence::reset() { *this = Cadence(); }

}  // namespace retinanet::tracking
