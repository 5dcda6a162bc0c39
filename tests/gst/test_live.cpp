// retinanetdetect with live sources and many streams: mode=async hands every buffer on at once, in order, with the
// newest finished detections and their age; mode=sync never carries unless QoS says a frame is late, and reports
// the detector's time as latency; auto follows upstream's liveness; elements sharing a model instance load it once,
// are refused with other settings, batch their frames with the same detections as alone, and join and leave while
// the others play.
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gst_test_util.h"

using gst_test::Frame;
using retinanet::gst::Region;

namespace {

constexpr GstClockTime kFrameDuration = GST_SECOND / 30;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class LiveTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    rgb_ = new cv::Mat(gst_test::read_rgb(gst_test::frame_path(320, 240)));
    const std::string path = gst_test::scratch_dir("live") + "/frame.ppm";
    gst_test::write_ppm(path, *rgb_);
    answer_ = new nlohmann::json(gst_test::run_detect_tool({path}, "--score-threshold 0.05")[0]);
  }
  static void TearDownTestSuite() {
    delete rgb_;
    delete answer_;
  }

  static GstHarness* harness(const std::string& properties) {
    const std::string launch = "retinanetdetect name=d model=\"" + gst_test::model_path() +
                               "\" score-threshold=0.05 " + properties;
    GstHarness* h = gst_harness_new_parse(launch.c_str());
    gst_harness_set_src_caps_str(h, gst_test::caps_string(frame()).c_str());
    return h;
  }
  static Frame frame() { return gst_test::make_frame(*rgb_, GST_VIDEO_FORMAT_RGB); }
  static guint64 inferred_frames(GstHarness* h) {
    GstElement* d = gst_bin_get_by_name(GST_BIN(h->element), "d");
    guint64 n = 0;
    g_object_get(d, "inferred-frames", &n, NULL);
    gst_object_unref(d);
    return n;
  }

  // What a pulled buffer carries.
  struct Out {
    GstClockTime pts = GST_CLOCK_TIME_NONE;
    std::vector<Region> regions;
  };
  static Out pull(GstHarness* h) {
    Out out;
    GstBuffer* b = gst_harness_pull(h);
    EXPECT_NE(b, nullptr);
    if (!b) return out;
    out.pts = GST_BUFFER_PTS(b);
    out.regions = retinanet::gst::read_regions(b);
    gst_buffer_unref(b);
    return out;
  }
  // Every region of a frame has the same provenance; that of the first (none: no detections).
  static void expect_one_provenance(const Out& o) {
    for (const Region& r : o.regions) {
      EXPECT_EQ(r.stale, o.regions[0].stale);
      EXPECT_EQ(r.age, o.regions[0].age);
      EXPECT_EQ(r.inferred_pts, o.regions[0].inferred_pts);
    }
  }

  static cv::Mat* rgb_;
  static nlohmann::json* answer_;
};
cv::Mat* LiveTest::rgb_ = nullptr;
nlohmann::json* LiveTest::answer_ = nullptr;

// Frames pushed far faster than the detector runs: each is handed on at once (the first with nothing finished
// yet), in order; later ones carry the newest finished detections, stale, with an age that grows until a newer
// answer comes, and with the pts of the frame they were computed on.
TEST_F(LiveTest, AsyncHandsEveryBufferOnWithTheNewestDetections) {
  GstHarness* h = harness("mode=async");
  const Frame f = frame();
  constexpr int kBurst = 30;
  for (int i = 0; i < kBurst; ++i)
    ASSERT_EQ(gst_harness_push(h, gst_test::make_buffer(f, i * kFrameDuration)), GST_FLOW_OK);
  std::vector<Out> outs;
  for (int i = 0; i < kBurst; ++i) outs.push_back(pull(h));
  EXPECT_TRUE(outs[0].regions.empty()) << "the first frame cannot carry an answer that is not computed yet";
  // Then frames at a slower pace, until the answers come (however slow this machine is), and some more.
  int carrying = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (carrying < 8 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_EQ(gst_harness_push(h, gst_test::make_buffer(f, outs.size() * kFrameDuration)), GST_FLOW_OK);
    outs.push_back(pull(h));
    if (!outs.back().regions.empty()) ++carrying;
  }
  ASSERT_EQ(carrying, 8) << "no answer came";
  ASSERT_EQ(gst_harness_buffers_in_queue(h), 0u);

  std::set<GstClockTime> inferred;
  GstClockTime last_inferred = 0;
  guint last_age = 0;
  bool answered_before = false;
  for (size_t i = 0; i < outs.size(); ++i) {
    SCOPED_TRACE("buffer " + std::to_string(i));
    EXPECT_EQ(outs[i].pts, i * kFrameDuration) << "buffers are neither held back nor reordered";
    expect_one_provenance(outs[i]);
    if (outs[i].regions.empty()) continue;
    const Region& r = outs[i].regions[0];
    EXPECT_TRUE(r.stale);
    ASSERT_GE(r.age, 1u);
    EXPECT_EQ(r.inferred_pts, (i - r.age) * kFrameDuration) << "age counts frames back to the inferred one";
    EXPECT_GE(r.inferred_pts, last_inferred) << "never an older answer after a newer one";
    if (answered_before && r.inferred_pts == last_inferred) {
      EXPECT_EQ(r.age, last_age + 1) << "the same answer, one frame older";
    }
    answered_before = true;
    last_inferred = r.inferred_pts;
    last_age = r.age;
    inferred.insert(r.inferred_pts);
  }
  // Once an answer has come, every later frame carries one: the detector's own on this image.
  size_t first = 0;
  while (outs[first].regions.empty()) ++first;
  for (size_t i = first; i < outs.size(); ++i) {
    ASSERT_FALSE(outs[i].regions.empty()) << "buffer " << i;
  }
  gst_test::expect_regions_match(outs.back().regions, *answer_, 320, 240);
  EXPECT_LT(inferred.size(), outs.size() / 2) << "most frames were inferred: frames waited";
  const guint64 answers = inferred_frames(h);
  EXPECT_GE(answers, inferred.size()) << "inferred-frames counts the answers received";
  EXPECT_LT(answers, outs.size() / 2);
  gst_harness_teardown(h);
}

// Detections computed for other caps are dropped: after a caps change the old frame size's answer is not carried.
TEST_F(LiveTest, AsyncDropsAnswersOfEarlierCaps) {
  GstHarness* h = harness("mode=async");
  const Frame f = frame();
  // Frames of 320x240 until they carry the detector's answer.
  GstClockTime pts = 0;
  bool answered = false;
  for (int i = 0; i < 2000 && !answered; ++i, pts += kFrameDuration) {
    ASSERT_EQ(gst_harness_push(h, gst_test::make_buffer(f, pts)), GST_FLOW_OK);
    answered = !pull(h).regions.empty();
    if (!answered) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(answered);
  // The last 320x240 frame was handed over too: its answer comes after the caps change, and must not be used.
  const Frame small = gst_test::make_frame(gst_test::read_rgb(gst_test::frame_path(317, 239)), GST_VIDEO_FORMAT_RGB);
  gst_harness_set_src_caps_str(h, gst_test::caps_string(small).c_str());
  ASSERT_EQ(gst_harness_push(h, gst_test::make_buffer(small, pts)), GST_FLOW_OK);
  const Out out = pull(h);
  EXPECT_TRUE(out.regions.empty()) << "a 320x240 answer on a 317x239 frame";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(gst_harness_push(h, gst_test::make_buffer(small, pts + kFrameDuration)), GST_FLOW_OK);
  for (const Region& r : pull(h).regions) EXPECT_LE(r.x + r.w, 317) << "a box of the old size";
  gst_harness_teardown(h);
}

// sync: every frame waits for its own detections, never stale; a QoS event saying frames are late makes the late
// ones carry the last detections (stale, not inferred) until frames are on time again.
TEST_F(LiveTest, SyncIsNeverStaleUnlessQosSaysLate) {
  GstHarness* h = harness("mode=sync");
  const Frame f = frame();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(gst_harness_push(h, gst_test::make_buffer(f, i * kFrameDuration)), GST_FLOW_OK);
    const Out o = pull(h);
    ASSERT_FALSE(o.regions.empty());
    expect_one_provenance(o);
    EXPECT_FALSE(o.regions[0].stale) << "frame " << i;
    gst_test::expect_regions_match(o.regions, *answer_, 320, 240);
  }
  // Downstream says: the frame at 4 was 1 s late. Frames before 4 + 2 x 1 s are late.
  ASSERT_TRUE(gst_harness_push_upstream_event(
      h, gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 1.5, GST_SECOND, 4 * kFrameDuration)));
  for (int i = 5; i < 10; ++i) {
    ASSERT_EQ(gst_harness_push(h, gst_test::make_buffer(f, i * kFrameDuration)), GST_FLOW_OK);
    const Out o = pull(h);
    ASSERT_FALSE(o.regions.empty());
    EXPECT_TRUE(o.regions[0].stale) << "frame " << i << " is late: it carries";
    EXPECT_EQ(o.regions[0].age, static_cast<guint>(i - 4));
    EXPECT_EQ(o.regions[0].inferred_pts, 4 * kFrameDuration);
  }
  EXPECT_EQ(inferred_frames(h), 5u) << "late frames are not inferred";
  // A frame after the late window is inferred again.
  const GstClockTime on_time = 4 * kFrameDuration + 2 * GST_SECOND + kFrameDuration;
  ASSERT_EQ(gst_harness_push(h, gst_test::make_buffer(f, on_time)), GST_FLOW_OK);
  const Out o = pull(h);
  ASSERT_FALSE(o.regions.empty());
  EXPECT_FALSE(o.regions[0].stale);
  gst_harness_teardown(h);
}

// sync adds the detector's time per frame to the latency; async adds nothing.
TEST_F(LiveTest, LatencyIsTheDetectorsTimeInSyncOnly) {
  for (const char* mode : {"sync", "async"}) {
    SCOPED_TRACE(mode);
    GstHarness* h = harness(std::string("mode=") + mode);
    gst_harness_set_upstream_latency(h, 10 * GST_MSECOND);
    const Frame f = frame();
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(gst_harness_push(h, gst_test::make_buffer(f, i * kFrameDuration)), GST_FLOW_OK);
      gst_buffer_unref(gst_harness_pull(h));
    }
    const GstClockTime latency = gst_harness_query_latency(h);
    if (std::string(mode) == "sync") {
      EXPECT_GT(latency, 10 * GST_MSECOND);
    } else {
      EXPECT_EQ(latency, 10 * GST_MSECOND);
    }
    gst_harness_teardown(h);
  }
}

// auto: async when upstream is live (the first frame goes on before its detections exist), sync otherwise (the
// first frame carries its own).
TEST_F(LiveTest, AutoFollowsUpstreamLiveness) {
  for (const bool live : {true, false}) {
    SCOPED_TRACE(live ? "live" : "not live");
    GstHarness* h = harness("mode=auto");
    gst_harness_set_live(h, live);
    ASSERT_EQ(gst_harness_push(h, gst_test::make_buffer(frame(), 0)), GST_FLOW_OK);
    const Out o = pull(h);
    EXPECT_EQ(o.regions.empty(), live);
    gst_harness_teardown(h);
  }
}

// Counts the INFO lines of retinanetdetect that say a model was loaded, and those that say one was shared.
struct LoadLog {
  std::mutex mutex;
  int loaded = 0, shared = 0;
  static void log(GstDebugCategory* category, GstDebugLevel level, const gchar*, const gchar*, gint, GObject*,
                  GstDebugMessage* message, gpointer data) {
    if (std::string(gst_debug_category_get_name(category)) != "retinanetdetect" || level != GST_LEVEL_INFO) return;
    auto* self = static_cast<LoadLog*>(data);
    const std::string text = gst_debug_message_get(message);
    std::lock_guard<std::mutex> lock(self->mutex);
    if (text.rfind("loaded ", 0) == 0) ++self->loaded;
    if (text.rfind("shares model instance", 0) == 0) ++self->shared;
  }
};

// Three elements naming one instance load the weights once; a fourth with another size is refused with one error
// naming both elements and the difference.
TEST_F(LiveTest, SharedInstanceLoadsOnceAndRefusesOtherSettings) {
  LoadLog log;
  const GstDebugLevel before = gst_debug_get_default_threshold();
  gst_debug_set_threshold_for_name("retinanetdetect", GST_LEVEL_INFO);
  gst_debug_add_log_function(&LoadLog::log, &log, nullptr);
  const std::string model = "model=\"" + gst_test::model_path() + "\"";
  std::string launch;
  for (int i = 0; i < 3; ++i)
    launch += "videotestsrc num-buffers=3 ! video/x-raw,width=160,height=120 ! retinanetdetect name=share" +
              std::to_string(i) + " model-instance-id=trio " + model + " ! fakesink ";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
  ASSERT_EQ(error, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  const gst_test::BusOutcome out = gst_test::wait_for_end(pipeline, 60 * GST_SECOND);
  EXPECT_TRUE(out.eos) << out.message;
  {
    std::lock_guard<std::mutex> lock(log.mutex);
    EXPECT_EQ(log.loaded, 1) << "the weights are loaded once";
    EXPECT_EQ(log.shared, 2);
  }

  // While the trio still holds the instance (PAUSED keeps it), another element asks for it with another size.
  gst_element_set_state(pipeline, GST_STATE_PAUSED);
  gst_element_get_state(pipeline, nullptr, nullptr, 10 * GST_SECOND);
  GstElement* other = gst_parse_launch(("videotestsrc num-buffers=3 ! video/x-raw,width=160,height=120 ! "
                                        "retinanetdetect name=odd model-instance-id=trio min-size=96 " + model +
                                        " ! fakesink").c_str(), &error);
  ASSERT_EQ(error, nullptr);
  gst_element_set_state(other, GST_STATE_PLAYING);
  const gst_test::BusOutcome refused = gst_test::wait_for_end(other, 30 * GST_SECOND);
  ASSERT_TRUE(refused.error);
  EXPECT_TRUE(contains(refused.message, "loaded by share")) << refused.message;  // whichever of the trio came first
  EXPECT_TRUE(contains(refused.message, "odd")) << refused.message;
  EXPECT_TRUE(contains(refused.message, "min-size")) << refused.message;
  gst_element_set_state(other, GST_STATE_NULL);
  gst_object_unref(other);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  gst_debug_remove_log_function(&LoadLog::log);
  gst_debug_set_threshold_for_name("retinanetdetect", before);
}

// Four streams sharing an instance with batch-size 4, pushing at once from their own threads (sync): each frame's
// detections equal the tool's, frame for frame.
TEST_F(LiveTest, BatchedStreamsGetTheirOwnDetections) {
  constexpr int kStreams = 4, kFrames = 6;
  std::vector<GstHarness*> harnesses;
  for (int s = 0; s < kStreams; ++s)
    harnesses.push_back(harness("mode=sync model-instance-id=batch4 batch-size=4 batch-timeout=200000"));
  const Frame f = frame();
  std::vector<std::thread> threads;
  std::atomic<int> mismatched{0}, pulled{0};
  for (int s = 0; s < kStreams; ++s)
    threads.emplace_back([&, s] {
      for (int i = 0; i < kFrames; ++i) {
        GstBuffer* out = gst_harness_push_and_pull(harnesses[s], gst_test::make_buffer(f, i * kFrameDuration));
        if (!out) continue;
        ++pulled;
        const std::vector<Region> regions = retinanet::gst::read_regions(out);
        const auto& want = (*answer_)["detections"];
        bool same = regions.size() == want.size();
        for (size_t k = 0; same && k < regions.size(); ++k)
          same = regions[k].label_id == want[k]["label"].get<int>() &&
                 std::abs(regions[k].confidence - want[k]["score"].get<double>()) < 1e-4 && !regions[k].stale;
        if (!same) ++mismatched;
        gst_buffer_unref(out);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(pulled, kStreams * kFrames);
  EXPECT_EQ(mismatched, 0);
  for (GstHarness* h : harnesses) gst_harness_teardown(h);
}

// Runs a live source into retinanetdetect; counts the buffers that reach the sink and the frames that carry
// detections.
struct LiveBranch {
  GstElement* pipeline = nullptr;
  std::atomic<int> buffers{0}, with_detections{0};

  explicit LiveBranch(const std::string& detect_properties) {
    const std::string launch = "videotestsrc is-live=true pattern=ball ! video/x-raw,width=160,height=120,"
                               "framerate=30/1 ! retinanetdetect name=d model=\"" + gst_test::model_path() +
                               "\" score-threshold=0.05 " + detect_properties + " ! fakesink name=sink sync=true";
    GError* error = nullptr;
    pipeline = gst_parse_launch(launch.c_str(), &error);
    EXPECT_EQ(error, nullptr) << (error ? error->message : "");
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    GstPad* pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, &LiveBranch::probe, this, nullptr);
    gst_object_unref(pad);
    gst_object_unref(sink);
  }
  ~LiveBranch() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
  }
  static GstPadProbeReturn probe(GstPad*, GstPadProbeInfo* info, gpointer data) {
    auto* self = static_cast<LiveBranch*>(data);
    ++self->buffers;
    if (!retinanet::gst::read_regions(GST_PAD_PROBE_INFO_BUFFER(info)).empty()) ++self->with_detections;
    return GST_PAD_PROBE_OK;
  }
};

// Elements join and leave a shared instance (NULL -> PLAYING -> NULL) while another plays on it: the one that
// stays keeps its frames flowing and its detections coming, nothing deadlocks, nothing leaks (leaks tracer).
TEST(Lifecycle, ElementsJoinAndLeaveASharedInstanceWhileOthersPlay) {
  LiveBranch stays("mode=async model-instance-id=revolving");
  ASSERT_NE(gst_element_set_state(stays.pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  for (int cycle = 0; cycle < 8; ++cycle) {
    LiveBranch guest(std::string(cycle % 2 ? "mode=async" : "mode=sync") + " model-instance-id=revolving");
    ASSERT_NE(gst_element_set_state(guest.pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    ASSERT_EQ(gst_element_set_state(guest.pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  }
  const int before = stays.buffers;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((stays.buffers < before + 10 || stays.with_detections == 0) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(stays.buffers, before + 10) << "the element that stayed stopped receiving frames";
  EXPECT_GT(stays.with_detections, 0) << "no detections reached the element that stayed";
  GstBus* bus = gst_element_get_bus(stays.pipeline);
  GstMessage* error = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  EXPECT_EQ(error, nullptr);
  if (error) gst_message_unref(error);
  gst_object_unref(bus);
}

// State changes while frames flow, in both modes, with a shared instance and without: no deadlock, and the frames
// of a live source come again after each restart.
TEST(Lifecycle, StateChangesWhileFramesFlow) {
  for (const char* properties : {"mode=async", "mode=sync", "mode=async model-instance-id=cycles batch-size=2"}) {
    SCOPED_TRACE(properties);
    LiveBranch branch(properties);
    for (int cycle = 0; cycle < 3; ++cycle) {
      const int before = branch.buffers;
      ASSERT_NE(gst_element_set_state(branch.pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (branch.buffers < before + 3 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      EXPECT_GE(branch.buffers, before + 3) << "cycle " << cycle << ": no frames after the restart";
      // Stopped while frames flow (and, in sync mode, while one waits for the detector).
      const GstState to = cycle % 2 ? GST_STATE_READY : GST_STATE_NULL;
      ASSERT_EQ(gst_element_set_state(branch.pipeline, to), GST_STATE_CHANGE_SUCCESS);
    }
  }
}

}  // namespace
