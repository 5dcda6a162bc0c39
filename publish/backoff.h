// Reconnection delays: exponential from `initial` to `maximum` (doubling), each with up to 20% random jitter
// subtracted so that many elements losing one broker do not all come back in the same millisecond. reset() after
// a successful connection starts again from `initial`.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace retinanet::publish {

class Backoff {
 public:
  using Duration = std::chrono::milliseconds;
  // Defaults: 100 ms, then 200, 400 ... up to 10 s between attempts.
  static constexpr Duration kDefaultInitial{100};
  static constexpr Duration kDefaultMaximum{10000};

  explicit Backoff(Duration initial = kDefaultInitial, Duration maximum = kDefaultMaximum, uint32_t seed = 0);

  Duration next();  // the delay before the next attempt; grows each call
  void reset();
  int attempts() const { return attempts_; }  // next() calls since the last reset()

 private:
  Duration initial_, maximum_, current_;
  int attempts_ = 0;
  std::minstd_rand random_;
};

}  // namespace retinanet::publish
