// Shared model instances (model/serving): a stream's frame gets the detections the bare detector gives it, in
// either hand-over; a newer frame replaces a waiting one; streams are batched; cancel unblocks a waiting run();
// streams leave while others run; the registry shares one load per name and refuses other settings.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "common/model_error.h"
#include "model/serving/instance.h"
#include "model/serving/instance_registry.h"
#include "tests/detection_match.h"
#include "tests/random_model.h"

namespace retinanet {
namespace {

using testing::unmatched;

class Instance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new testing::RandomModelDetector("instance", 9);
    reference_ = &model_->detector();
  }
  static void TearDownTestSuite() { delete model_; }
  static DetectorOptions options() { return model_->options(); }
  static InstanceSettings settings(int batch_size = 1, int timeout_us = 0) {
    InstanceSettings s;
    s.detector = options();
    s.batch_size = batch_size;
    s.batch_timeout = std::chrono::microseconds(timeout_us);
    return s;
  }
  static FrameRequest request(const testing::RandomFrame& f, uint64_t frame, int64_t pts = -1) {
    FrameRequest r;
    r.image = f.view();
    r.frame = frame;
    r.pts = pts;
    return r;
  }
  static void expect_same(const Detections& want, const Detections& got, const std::string& what) {
    ASSERT_GE(want.size(), 20u) << what;
    EXPECT_EQ(unmatched(want, got, 0.05f + 1e-4f, 1e-4f, 0.999f), "") << what;
    EXPECT_EQ(unmatched(got, want, 0.05f + 1e-4f, 1e-4f, 0.999f), "") << what;
  }

  static testing::RandomModelDetector* model_;
  static Detector* reference_;
};
testing::RandomModelDetector* Instance::model_ = nullptr;
Detector* Instance::reference_ = nullptr;

TEST_F(Instance, RunGivesTheDetectorsDetections) {
  auto instance = InferenceInstance::create(settings());
  auto stream = instance->open_stream();
  const auto f = testing::random_frame(120, 90, 1);
  const FrameResult r = stream->run(request(f, 7, 700));
  EXPECT_EQ(r.frame, 7u);
  EXPECT_EQ(r.pts, 700);
  expect_same(reference_->detect(f.view()), r.detections, "run");
  // Thresholds of the request, not the instance's.
  FrameRequest strict = request(f, 8);
  strict.thresholds = {0.4f, -1, 3, {}, false};
  const FrameResult s = stream->run(strict);
  EXPECT_LE(s.detections.size(), 3u);
  for (const Detection& d : s.detections) EXPECT_GE(d.score, 0.4f);
  // A frame the detector refuses is an error for its stream only.
  FrameRequest empty;
  empty.image = ImageView::packed(PixelFormat::kRGB, 0, 0, nullptr, 0);
  EXPECT_THROW(stream->run(empty), ModelError);
  EXPECT_EQ(stream->run(request(f, 9)).frame, 9u);
}

TEST_F(Instance, SubmitLatestNeverWaitsAndKeepsTheNewest) {
  auto instance = InferenceInstance::create(settings());
  auto stream = instance->open_stream();
  std::vector<testing::RandomFrame> frames;
  for (int i = 0; i < 12; ++i) frames.push_back(testing::random_frame(120, 90, 100 + i));
  EXPECT_FALSE(stream->newest());
  for (size_t i = 0; i < frames.size(); ++i) stream->submit_latest(request(frames[i], i, static_cast<int64_t>(i) * 10));
  // Handed over far faster than one inference: most were replaced while waiting, and the last one is inferred.
  for (int tries = 0; tries < 500 && !(stream->newest() && stream->newest()->frame == frames.size() - 1); ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto newest = stream->newest();
  ASSERT_TRUE(newest);
  EXPECT_EQ(newest->frame, frames.size() - 1);
  EXPECT_EQ(newest->pts, static_cast<int64_t>(frames.size() - 1) * 10);
  expect_same(reference_->detect(frames.back().view()), newest->detections, "newest");
  // A caller that already holds that answer gets nothing; one that holds an older one gets it.
  EXPECT_FALSE(stream->newest_unless(newest->frame));
  const auto after_older = stream->newest_unless(newest->frame - 1);
  ASSERT_TRUE(after_older);
  EXPECT_EQ(after_older->frame, newest->frame);
  EXPECT_TRUE(stream->newest_unless(std::nullopt));
  const auto stats = instance->stats();
  EXPECT_LT(stats.frames, frames.size());
  EXPECT_EQ(stats.frames + stats.replaced, frames.size());
  // clear() forgets it.
  stream->clear();
  EXPECT_FALSE(stream->newest());
}

TEST_F(Instance, StreamsShareBatches) {
  constexpr int kStreams = 3, kFrames = 4;
  auto instance = InferenceInstance::create(settings(kStreams, 200000));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int s = 0; s < kStreams; ++s)
    threads.emplace_back([&, s] {
      auto stream = instance->open_stream();
      for (int i = 0; i < kFrames; ++i) {
        const auto f = testing::random_frame(120, 90, 1000 * s + i);
        const FrameResult r = stream->run(request(f, i));
        const Detections want = reference_->detect(f.view());
        if (r.frame != static_cast<uint64_t>(i) || !unmatched(want, r.detections, 0.0501f, 1e-4f, 0.999f).empty() ||
            !unmatched(r.detections, want, 0.0501f, 1e-4f, 0.999f).empty())
          ++failures;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0) << "a batched frame's detections differ from its own";
  const auto stats = instance->stats();
  EXPECT_EQ(stats.frames, static_cast<uint64_t>(kStreams * kFrames));
  EXPECT_LT(stats.batches, stats.frames) << "the streams' frames were never batched";
}

TEST_F(Instance, CancelUnblocksARunAndStreamsLeaveWhileOthersRun) {
  auto instance = InferenceInstance::create(settings());
  auto busy = instance->open_stream();
  const auto f = testing::random_frame(160, 120, 3);
  std::atomic<bool> stop{false};
  std::atomic<int> done{0};
  std::thread runner([&] {
    while (!stop) {
      busy->run(request(f, done));
      ++done;
    }
  });
  // Streams join and leave while `busy` runs; one is cancelled while it waits.
  for (int i = 0; i < 5; ++i) {
    auto guest = instance->open_stream();
    guest->submit_latest(request(f, 0));
    if (i % 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto waiting = instance->open_stream();
  std::thread waiter([&] {
    try {
      waiting->run(request(f, 1));
    } catch (const StreamCancelled&) {
    }
  });
  waiting->cancel();
  waiter.join();  // returned with its result, or threw StreamCancelled: it never stays blocked
  EXPECT_THROW(waiting->run(request(f, 2)), StreamCancelled) << "cancelled until clear()";
  waiting->clear();
  EXPECT_EQ(waiting->run(request(f, 3)).frame, 3u);
  stop = true;
  runner.join();
  EXPECT_GT(done, 0);
}

TEST_F(Instance, RegistrySharesOneLoadPerNameAndRefusesOtherSettings) {
  const std::string id = "test-" + std::to_string(getpid());
  SharedInstance a = acquire_shared_instance(id, settings(), "detect0");
  SharedInstance b = acquire_shared_instance(id, settings(), "detect1");
  EXPECT_TRUE(a.loaded);
  EXPECT_FALSE(b.loaded);
  EXPECT_EQ(a.instance, b.instance);
  InstanceSettings other = settings();
  other.detector.min_size = 128;
  try {
    acquire_shared_instance(id, other, "detect2");
    FAIL() << "accepted";
  } catch (const ModelError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("detect0"), std::string::npos) << m;
    EXPECT_NE(m.find("detect2"), std::string::npos) << m;
    EXPECT_NE(m.find("min-size '0' vs '128'"), std::string::npos) << m;
  }
  // Freed with its last user: the next one loads afresh.
  a = {};
  b = {};
  EXPECT_TRUE(acquire_shared_instance(id, other, "detect3").loaded);
}

}  // namespace
}  // namespace retinanet
