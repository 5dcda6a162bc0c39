#include "publish/backoff.h"

#include <algorithm>
#include <stdexcept>

namespace retinanet::publish {

Backoff::Backoff(Duration initial, Duration maximum, uint32_t seed)
    : initial_(initial), maximum_(maximum), current_(initial), random_(seed ? seed : std::random_device{}()) {
  if (initial.count() <= 0 || maximum < initial)
    throw std::invalid_argument("Backoff: needs 0 < initial <= maximum");
}

Backoff::Duration Backoff::next() {
  const Duration base = current_;
  current_ = std::min(maximum_, current_ * 2);
  ++attempts_;
  // Up to 20% shorter, never longer than the base: the maximum stays a true bound.
  std::uniform_int_distribution<int64_t> jitter(0, base.count() / 5);
  return base - Duration(jitter(random_));
}

void Backoff::reset() {
  current_ = initial_;
  attempts_ = 0;
}

}  // namespace retinanet::publish
