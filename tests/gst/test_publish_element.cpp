// retinanetpublish in a GstHarness, no broker needed (method=file): buffers pass untouched (the very same buffer),
// each message is the JSON line retinanetjson writes for the frame, the counters count, and a setting that can
// never work fails the start with one error. The broker cases are tests/gst/test_publish.py.
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>

#include "gst_test_util.h"

namespace {

using gst_test::read_json_lines;

TEST(Publish, FileMessagesEqualTheJsonLinesAndBuffersPassUntouched) {
  const std::string dir = gst_test::scratch_dir("publish");
  const std::string published = dir + "/published.jsonl", lines = dir + "/lines.jsonl";
  GstHarness* h = gst_harness_new_parse(("retinanetpublish name=p method=file file-path=\"" + published +
                                         "\" source-id=cam9 ! retinanetjson source-id=cam9 location=\"" + lines +
                                         "\"").c_str());
  gst_harness_set_src_caps_str(h, "video/x-raw,format=I420,width=64,height=48,framerate=30/1");
  for (int i = 0; i < 5; ++i) {
    GstBuffer* in = gst_harness_create_buffer(h, 64 * 48 * 3 / 2);
    GST_BUFFER_PTS(in) = i * GST_SECOND / 30;
    if (i % 2) gst_buffer_add_video_region_of_interest_meta(in, "face", 4, 5, 20, 30);
    gst_buffer_ref(in);
    GstBuffer* out = gst_harness_push_and_pull(h, in);
    EXPECT_EQ(out, in) << "passthrough: the very same buffer";
    gst_buffer_unref(out);
    gst_buffer_unref(in);
  }
  EXPECT_TRUE(gst_harness_push_event(h, gst_event_new_eos()));  // flushes
  GstElement* p = gst_harness_find_element(h, "retinanetpublish");
  guint64 count = 0, dropped = 1;
  g_object_get(p, "published", &count, "dropped", &dropped, nullptr);
  EXPECT_EQ(count, 5u);
  EXPECT_EQ(dropped, 0u);
  gst_object_unref(p);
  gst_harness_teardown(h);

  const std::vector<nlohmann::json> got = read_json_lines(published), want = read_json_lines(lines);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got, want);
  EXPECT_EQ(got[1].at("source"), "cam9");
  EXPECT_EQ(got[1].at("detections").size(), 1u);
}

TEST(Publish, SourceIdDefaultsToTheElementsName) {
  const std::string path = gst_test::scratch_dir("publish") + "/named.jsonl";
  GstHarness* h = gst_harness_new_parse(("retinanetpublish name=door method=file file-path=\"" + path + "\"").c_str());
  gst_harness_set_src_caps_str(h, "video/x-raw,format=I420,width=64,height=48,framerate=30/1");
  gst_buffer_unref(gst_harness_push_and_pull(h, gst_harness_create_buffer(h, 64 * 48 * 3 / 2)));
  gst_harness_push_event(h, gst_event_new_eos());
  gst_harness_teardown(h);
  const std::vector<nlohmann::json> got = read_json_lines(path);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].at("source"), "door");
}

TEST(Publish, ASettingThatCanNeverWorkFailsTheStart) {
  GstElement* pipeline = gst_parse_launch(
      "videotestsrc num-buffers=1 ! retinanetpublish method=mqtt address=127.0.0.1:0 ! fakesink", nullptr);
  ASSERT_NE(pipeline, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  const gst_test::BusOutcome outcome = gst_test::wait_for_end(pipeline, 10 * GST_SECOND);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  EXPECT_TRUE(outcome.error);
  EXPECT_NE(outcome.message.find("Cannot publish with method mqtt"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("port \"0\""), std::string::npos) << outcome.message;
}

TEST(Publish, SettingsAreRefusedWhilePlaying) {
  GstHarness* h = gst_harness_new_parse("retinanetpublish name=p method=file file-path=/dev/null topic=a");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=I420,width=64,height=48,framerate=30/1");
  gst_buffer_unref(gst_harness_push_and_pull(h, gst_harness_create_buffer(h, 64 * 48 * 3 / 2)));
  GstElement* p = gst_harness_find_element(h, "retinanetpublish");
  testing::internal::CaptureStderr();
  g_object_set(p, "topic", "b", nullptr);
  const std::string warning = testing::internal::GetCapturedStderr();
  gchar* topic = nullptr;
  g_object_get(p, "topic", &topic, nullptr);
  EXPECT_STREQ(topic, "a");
  EXPECT_NE(warning.find("NULL or READY"), std::string::npos) << warning;
  g_free(topic);
  gst_object_unref(p);
  gst_harness_teardown(h);
}

}  // namespace
