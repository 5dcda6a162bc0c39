// retinanetjson: one parsable line per frame, detections written exactly as retinanet-detect writes them, buffers
// passed through untouched.
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <fstream>

#include "gst_test_util.h"

namespace {

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(Json, DetectionsEqualTheToolsOutput) {
  const std::string dir = gst_test::scratch_dir("json");
  const std::string path = dir + "/detections.jsonl";
  const std::string image = gst_test::frame_path(317, 239);
  const nlohmann::json tool = gst_test::run_detect_tool({image})[0];
  const gst_test::Frame f = gst_test::make_frame(gst_test::read_rgb(image), GST_VIDEO_FORMAT_BGR);

  GstHarness* h = gst_harness_new_parse(("retinanetdetect mode=sync model=\"" + gst_test::model_path() +
                                         "\" interval=2 ! retinanetjson location=\"" + path + "\"").c_str());
  gst_harness_set_src_caps_str(h, gst_test::caps_string(f).c_str());
  for (int i = 0; i < 3; ++i) gst_buffer_unref(gst_harness_push_and_pull(h, gst_test::make_buffer(f, i * GST_SECOND / 4)));
  GstBuffer* no_pts = gst_test::make_buffer(f);
  GST_BUFFER_PTS(no_pts) = GST_CLOCK_TIME_NONE;
  gst_buffer_unref(gst_harness_push_and_pull(h, no_pts));
  gst_harness_teardown(h);

  const std::vector<nlohmann::json> lines = read_lines(path);
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < lines.size(); ++i) {
    const nlohmann::json& line = lines[i];
    EXPECT_EQ(line.at("frame"), i);
    EXPECT_EQ(line.at("width"), 317);
    EXPECT_EQ(line.at("height"), 239);
    EXPECT_EQ(line.at("stale"), i % 2 == 1);
    EXPECT_EQ(line.at("detections"), tool.at("detections")) << "frame " << i;
  }
  EXPECT_EQ(lines[1].at("pts"), GST_SECOND / 4);
  EXPECT_DOUBLE_EQ(lines[1].at("timestamp").get<double>(), 0.25);
  EXPECT_TRUE(lines[3].at("pts").is_null());
  EXPECT_TRUE(lines[3].at("timestamp").is_null());
}

TEST(Json, ForeignMetasHaveNoLabelOrScoreAndBuffersPassUntouched) {
  const std::string path = gst_test::scratch_dir("json") + "/foreign.jsonl";
  GstHarness* h = gst_harness_new_parse(("retinanetjson location=\"" + path + "\"").c_str());
  gst_harness_set_src_caps_str(h, "video/x-raw,format=I420,width=64,height=48,framerate=30/1");
  GstBuffer* in = gst_harness_create_buffer(h, 64 * 48 * 3 / 2);
  gst_buffer_add_video_region_of_interest_meta(in, "face", 4, 5, 20, 30);
  gst_buffer_ref(in);
  GstBuffer* out = gst_harness_push_and_pull(h, in);
  EXPECT_EQ(out, in) << "passthrough: the very same buffer";
  gst_buffer_unref(out);
  gst_buffer_unref(in);
  GstBuffer* empty = gst_harness_push_and_pull(h, gst_harness_create_buffer(h, 64 * 48 * 3 / 2));
  gst_buffer_unref(empty);
  gst_harness_teardown(h);

  const std::vector<nlohmann::json> lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  const nlohmann::json expected =
      nlohmann::json::parse(R"([{"label": null, "name": "face", "score": null, "box": [4.0, 5.0, 24.0, 35.0]}])");
  EXPECT_EQ(lines[0].at("detections"), expected);
  EXPECT_TRUE(lines[1].at("detections").empty());
}

// Frames of 2000x2 and 2x2000 (a side the test model's 128/213 would resize to 0 pixels) are analysed: the
// stream goes on and each line says so (no "analysed": false).
TEST(Json, ThinFramesAreAnalysed) {
  const std::string path = gst_test::scratch_dir("json") + "/thin.jsonl";
  GstHarness* h = gst_harness_new_parse(("retinanetdetect mode=sync model=\"" + gst_test::model_path() +
                                         "\" ! retinanetjson location=\"" + path + "\"").c_str());
  for (const auto& [w, hgt] : std::vector<std::pair<int, int>>{{2000, 2}, {2, 2000}}) {
    const std::string caps = "video/x-raw,format=RGB,width=" + std::to_string(w) + ",height=" + std::to_string(hgt) +
                             ",framerate=30/1";
    gst_harness_set_src_caps_str(h, caps.c_str());
    GstCaps* parsed = gst_caps_from_string(caps.c_str());
    GstVideoInfo info;
    ASSERT_TRUE(gst_video_info_from_caps(&info, parsed));
    gst_caps_unref(parsed);
    GstBuffer* in = gst_harness_create_buffer(h, GST_VIDEO_INFO_SIZE(&info));
    gst_buffer_memset(in, 0, 90, GST_VIDEO_INFO_SIZE(&info));
    ASSERT_EQ(gst_harness_push(h, in), GST_FLOW_OK) << w << "x" << hgt;
    gst_buffer_unref(gst_harness_pull(h));
  }
  gst_harness_teardown(h);
  const std::vector<nlohmann::json> lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].at("width"), 2000);
  EXPECT_EQ(lines[1].at("height"), 2000);
  for (const nlohmann::json& line : lines) EXPECT_FALSE(line.contains("analysed")) << line.dump();
}

// A full disk, simulated by a file size limit (the write fails with EFBIG once the file reaches it, after writing
// what fits): the file must end with a whole line, every line valid, and the error must say what failed.
TEST(Json, AFullDiskLeavesOnlyWholeLines) {
  const std::string path = gst_test::scratch_dir("json") + "/full.jsonl";
  GstHarness* h = gst_harness_new_parse(("retinanetjson location=\"" + path + "\"").c_str());
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=I420,width=64,height=48,framerate=30/1");

  // The limit is the process's: set only while this test writes, restored before any assertion.
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  void (*saved_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  rlimit limit = saved;
  limit.rlim_cur = 1000;  // a few lines of about 300 bytes: the fourth or so is cut by the limit
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  int pushed = 0;
  GstFlowReturn flow = GST_FLOW_OK;
  for (; pushed < 100; ++pushed) {
    GstBuffer* in = gst_harness_create_buffer(h, 64 * 48 * 3 / 2);
    for (int i = 0; i < 4; ++i) gst_buffer_add_video_region_of_interest_meta(in, "face", 4 + i, 5, 20, 30);
    flow = gst_harness_push(h, in);
    if (flow != GST_FLOW_OK) break;
    gst_buffer_unref(gst_harness_pull(h));
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  signal(SIGXFSZ, saved_handler);

  EXPECT_EQ(flow, GST_FLOW_ERROR);
  GstMessage* error = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  ASSERT_NE(error, nullptr) << "an error on the bus";
  GError* gerror = nullptr;
  gst_message_parse_error(error, &gerror, nullptr);
  EXPECT_NE(std::string(gerror->message).find(g_strerror(EFBIG)), std::string::npos) << gerror->message;
  g_error_free(gerror);
  gst_message_unref(error);
  gst_harness_teardown(h);
  gst_object_unref(bus);

  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  EXPECT_LT(text.size(), 1000u) << "the cut line was taken back, not just stopped at the limit";
  EXPECT_EQ(text.back(), '\n');
  const std::vector<nlohmann::json> lines = read_lines(path);
  EXPECT_EQ(lines.size(), static_cast<size_t>(pushed)) << "every frame pushed before the failure, whole";
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i].at("detections").size(), 4u);
}

}  // namespace
