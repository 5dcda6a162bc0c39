// Property validation of the three elements: GParamSpec ranges, the device syntax, and properties that shape the
// loaded model refused once the element runs.
#include <gst/check/gstharness.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gst_test_util.h"

namespace {

// Counts the warnings logged while it lives (GObject's own "out of range" ones and the elements').
class WarningCapture {
 public:
  WarningCapture() { previous_ = g_log_set_default_handler(&WarningCapture::handle, this); }
  ~WarningCapture() { g_log_set_default_handler(previous_, nullptr); }
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  static void handle(const gchar* domain, GLogLevelFlags level, const gchar* message, gpointer self) {
    if (level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL))
      static_cast<WarningCapture*>(self)->warnings_.push_back(message);
  }
  GLogFunc previous_;
  std::vector<std::string> warnings_;
};

template <typename T>
T get(GstElement* element, const char* name) {
  T value{};
  g_object_get(element, name, &value, NULL);
  return value;
}

std::string get_string(GstElement* element, const char* name) {
  gchar* value = nullptr;
  g_object_get(element, name, &value, NULL);
  std::string out = value ? value : "";
  g_free(value);
  return out;
}

TEST(DetectProperties, DefaultsAreTheModelsSettings) {
  GstElement* d = gst_element_factory_make("retinanetdetect", nullptr);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(get_string(d, "model"), "");
  EXPECT_EQ(get_string(d, "device"), "auto");
  EXPECT_FLOAT_EQ(get<gfloat>(d, "score-threshold"), -1.0f);
  EXPECT_FLOAT_EQ(get<gfloat>(d, "nms-threshold"), -1.0f);
  EXPECT_EQ(get<gint>(d, "max-detections"), 0);
  EXPECT_EQ(get<gint>(d, "min-size"), 0);
  EXPECT_EQ(get<gint>(d, "max-size"), 0);
  EXPECT_EQ(get<guint>(d, "interval"), 1u);
  EXPECT_EQ(get_string(d, "classes"), "");
  EXPECT_FALSE(get<gboolean>(d, "post-messages"));
  gst_object_unref(d);
}

TEST(DetectProperties, OutOfRangeValuesAreRejected) {
  GstElement* d = gst_element_factory_make("retinanetdetect", nullptr);
  WarningCapture capture;
  g_object_set(d, "score-threshold", 1.5f, NULL);
  g_object_set(d, "nms-threshold", -2.0f, NULL);
  g_object_set(d, "interval", 0u, NULL);
  g_object_set(d, "min-size", -5, NULL);
  g_object_set(d, "max-detections", -1, NULL);
  EXPECT_EQ(capture.warnings().size(), 5u);
  EXPECT_FLOAT_EQ(get<gfloat>(d, "score-threshold"), -1.0f);
  EXPECT_FLOAT_EQ(get<gfloat>(d, "nms-threshold"), -1.0f);
  EXPECT_EQ(get<guint>(d, "interval"), 1u);
  EXPECT_EQ(get<gint>(d, "min-size"), 0);
  EXPECT_EQ(get<gint>(d, "max-detections"), 0);

  g_object_set(d, "score-threshold", 0.25f, "interval", 5u, "min-size", 320, NULL);
  EXPECT_FLOAT_EQ(get<gfloat>(d, "score-threshold"), 0.25f);
  EXPECT_EQ(get<guint>(d, "interval"), 5u);
  EXPECT_EQ(get<gint>(d, "min-size"), 320);
  gst_object_unref(d);
}

// class-thresholds: the syntax and ranges when set (the labels only once the model is loaded: test_detect.cpp).
TEST(DetectProperties, ClassThresholdsAreCheckedWhenSet) {
  GstElement* d = gst_element_factory_make("retinanetdetect", nullptr);
  EXPECT_EQ(get_string(d, "class-thresholds"), "");
  EXPECT_FALSE(get<gboolean>(d, "agnostic-nms"));
  EXPECT_EQ(get_string(d, "labels-file"), "");
  EXPECT_EQ(get<gchar**>(d, "labels"), nullptr) << "no model loaded yet";
  g_object_set(d, "class-thresholds", "square=0.5, 3=0.25", NULL);
  WarningCapture capture;
  for (const char* bad : {"square=1.5", "square", "square=high", "=0.3", "square=-0.2"}) {
    g_object_set(d, "class-thresholds", bad, NULL);
    EXPECT_EQ(get_string(d, "class-thresholds"), "square=0.5, 3=0.25") << bad;
  }
  ASSERT_EQ(capture.warnings().size(), 5u);
  EXPECT_NE(capture.warnings()[0].find("'square' must lie in [0, 1], got 1.5"), std::string::npos)
      << capture.warnings()[0];
  // A name the model may not have is only known once it is loaded.
  g_object_set(d, "class-thresholds", "hexagon=0.3", NULL);
  EXPECT_EQ(get_string(d, "class-thresholds"), "hexagon=0.3");
  EXPECT_EQ(capture.warnings().size(), 5u);
  gst_object_unref(d);
}

TEST(DetectProperties, DeviceSyntaxIsChecked) {
  GstElement* d = gst_element_factory_make("retinanetdetect", nullptr);
  WarningCapture capture;
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:0x", "CPU"}) {
    g_object_set(d, "device", bad, NULL);
    EXPECT_EQ(get_string(d, "device"), "auto") << bad;
  }
  EXPECT_EQ(capture.warnings().size(), 5u);
  for (const char* good : {"cpu", "cuda", "cuda:1", "auto"}) {
    g_object_set(d, "device", good, NULL);
    EXPECT_EQ(get_string(d, "device"), good);
  }
  gst_object_unref(d);
}

TEST(DetectProperties, ModelPropertiesAreFixedWhileRunning) {
  const std::string launch = "retinanetdetect name=d mode=sync model=\"" + gst_test::model_path() + "\"";
  GstHarness* h = gst_harness_new_parse(launch.c_str());
  GstElement* d = gst_bin_get_by_name(GST_BIN(h->element), "d");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=64,height=48,framerate=30/1");
  {
    WarningCapture capture;
    g_object_set(d, "model", "/other.safetensors", "min-size", 64, "max-size", 64, "device", "cpu",
                 "labels-file", "/other.txt", NULL);
    EXPECT_EQ(capture.warnings().size(), 5u);
  }
  EXPECT_EQ(get_string(d, "model"), gst_test::model_path());
  EXPECT_EQ(get<gint>(d, "min-size"), 0);
  // What the streaming thread reads per frame can change while playing.
  WarningCapture capture;
  g_object_set(d, "interval", 4u, "classes", "square", "post-messages", TRUE, "score-threshold", 0.9f,
               "nms-threshold", 0.3f, "max-detections", 5, "class-thresholds", "square=0.5", "agnostic-nms", TRUE,
               NULL);
  EXPECT_TRUE(capture.warnings().empty());
  EXPECT_EQ(get_string(d, "class-thresholds"), "square=0.5");
  EXPECT_TRUE(get<gboolean>(d, "agnostic-nms"));
  EXPECT_EQ(get<guint>(d, "interval"), 4u);
  EXPECT_FLOAT_EQ(get<gfloat>(d, "score-threshold"), 0.9f);
  EXPECT_EQ(get<gint>(d, "max-detections"), 5);
  // The flags say so to gst-inspect-1.0 and to applications.
  for (const char* name : {"score-threshold", "nms-threshold", "max-detections", "classes", "interval",
                           "post-messages", "class-thresholds", "agnostic-nms"})
    EXPECT_TRUE(g_object_class_find_property(G_OBJECT_GET_CLASS(d), name)->flags & GST_PARAM_MUTABLE_PLAYING)
        << name;
  for (const char* name : {"model", "device", "min-size", "max-size", "labels-file"})
    EXPECT_TRUE(g_object_class_find_property(G_OBJECT_GET_CLASS(d), name)->flags & GST_PARAM_MUTABLE_READY) << name;
  gst_object_unref(d);
  gst_harness_teardown(h);
}

// half and threads, as retinanet-detect's --half and --threads: they shape the loaded model, so NULL/READY only.
TEST(DetectProperties, HalfAndThreadsAreModelProperties) {
  GstElement* probe = gst_element_factory_make("retinanetdetect", nullptr);
  ASSERT_NE(probe, nullptr);
  EXPECT_FALSE(get<gboolean>(probe, "half"));
  EXPECT_EQ(get<gint>(probe, "threads"), 0);
  {
    WarningCapture capture;
    g_object_set(probe, "threads", -1, NULL);
    EXPECT_EQ(capture.warnings().size(), 1u);
    EXPECT_EQ(get<gint>(probe, "threads"), 0);
  }
  g_object_set(probe, "threads", 2, "half", TRUE, NULL);
  EXPECT_EQ(get<gint>(probe, "threads"), 2);
  EXPECT_TRUE(get<gboolean>(probe, "half"));
  for (const char* name : {"half", "threads"})
    EXPECT_TRUE(g_object_class_find_property(G_OBJECT_GET_CLASS(probe), name)->flags & GST_PARAM_MUTABLE_READY)
        << name;
  gst_object_unref(probe);

  const std::string launch = "retinanetdetect name=d mode=sync threads=2 model=\"" + gst_test::model_path() + "\"";
  GstHarness* h = gst_harness_new_parse(launch.c_str());
  GstElement* d = gst_bin_get_by_name(GST_BIN(h->element), "d");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=64,height=48,framerate=30/1");
  {
    WarningCapture capture;
    g_object_set(d, "half", TRUE, "threads", 3, NULL);
    EXPECT_EQ(capture.warnings().size(), 2u);
  }
  EXPECT_FALSE(get<gboolean>(d, "half"));
  EXPECT_EQ(get<gint>(d, "threads"), 2);
  gst_object_unref(d);
  gst_harness_teardown(h);
}

TEST(OverlayProperties, RangesAndDefaults) {
  GstElement* o = gst_element_factory_make("retinanetoverlay", nullptr);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(get<gint>(o, "thickness"), 2);
  EXPECT_DOUBLE_EQ(get<gdouble>(o, "font-scale"), 0.5);
  EXPECT_TRUE(get<gboolean>(o, "show-labels"));
  EXPECT_TRUE(get<gboolean>(o, "show-confidence"));
  WarningCapture capture;
  g_object_set(o, "thickness", 0, "font-scale", 0.0, NULL);
  EXPECT_EQ(capture.warnings().size(), 2u);
  EXPECT_EQ(get<gint>(o, "thickness"), 2);
  g_object_set(o, "thickness", 5, "font-scale", 1.5, "show-labels", FALSE, NULL);
  EXPECT_EQ(get<gint>(o, "thickness"), 5);
  EXPECT_DOUBLE_EQ(get<gdouble>(o, "font-scale"), 1.5);
  EXPECT_FALSE(get<gboolean>(o, "show-labels"));
  gst_object_unref(o);
}

TEST(JsonProperties, LocationIsFixedWhileRunning) {
  const std::string path = gst_test::scratch_dir("json-properties") + "/a.jsonl";
  GstHarness* h = gst_harness_new_parse(("retinanetjson name=j location=\"" + path + "\"").c_str());
  GstElement* j = gst_bin_get_by_name(GST_BIN(h->element), "j");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=64,height=48,framerate=30/1");
  WarningCapture capture;
  g_object_set(j, "location", "/elsewhere.jsonl", NULL);
  EXPECT_EQ(capture.warnings().size(), 1u);
  EXPECT_EQ(get_string(j, "location"), path);
  gst_object_unref(j);
  gst_harness_teardown(h);
}

}  // namespace
