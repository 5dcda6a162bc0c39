// An application that embeds retinanetdetect and reads its detections from each buffer's metadata with a pad probe,
// a template for your own app. The metas are GStreamer's standard GstVideoRegionOfInterestMeta (read them with
// gst_buffer_iterate_meta_filtered and their `detection` param, as gst/detection_meta.cpp does); this app hands
// them to the project's one JSON writer, gst/frame_json.h, so that its lines are retinanetjson's.
//
//   detect-app [--model FILE] [--detect-options "PROPERTY=VALUE ..."] [--max-frames N]
//              [--source "GST-LAUNCH SOURCE"]... [--source-id ID]... [FILE-OR-URI]...
//
// Prints one JSON line per frame, DESIGN.md's schema: {"frame": N, "pts": NS, "timestamp": S, "width": W,
// "height": H, "stale": false, "source": "detect", "detections": [{"label": 2, "name": "square", "score": 0.93,
// "box": [x1, y1, x2, y2]}]} with boxes in frame pixels. Several sources (files, URIs, --source descriptions) run
// side by side, each into its own retinanetdetect, all sharing one model instance (model-instance-id=detect-app:
// one copy of the weights, their frames batched); their lines interleave and "source" tells them apart: the
// --source-id given for each (in order), else "detect" for a single source and "cam0", "cam1", ... for several.
// --max-frames counts per source. --detect-options gives every retinanetdetect more properties ("interval=2
// score-threshold=0.5"). Without a FILE, URI or --source, a videotestsrc runs.
#include <gst/gst.h>
#include <gst/video/video.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "gst/frame_json.h"

namespace {

struct App;

// One source's branch: its frames are counted and reported under its own id.
struct Stream {
  App* app = nullptr;
  guint64 frames = 0;
  std::string source_id;
};

struct App {
  GstElement* pipeline = nullptr;
  GMainLoop* loop = nullptr;
  guint64 max_frames = 0;  // per source; 0: until the end of the streams
  int status = 0;
  std::vector<std::unique_ptr<Stream>> streams;
  std::atomic<size_t> finished{0};  // sources that have reported max_frames frames
};

GstPadProbeReturn on_buffer(GstPad* pad, GstPadProbeInfo* info, gpointer data) {
  Stream& stream = *static_cast<Stream*>(data);
  App& app = *stream.app;
  // Frames still in flight after the end was asked for are not reported.
  if (app.max_frames && stream.frames >= app.max_frames) return GST_PAD_PROBE_DROP;
  GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  GstVideoInfo video;
  GstCaps* caps = gst_pad_get_current_caps(pad);
  const bool sized = caps && gst_video_info_from_caps(&video, caps);
  if (caps) gst_caps_unref(caps);
  const int width = sized ? GST_VIDEO_INFO_WIDTH(&video) : 0, height = sized ? GST_VIDEO_INFO_HEIGHT(&video) : 0;

  try {
    const std::string line = retinanet::gst::frame_json(buffer, stream.frames, width, height, stream.source_id).dump();
    std::printf("%s\n", line.c_str());  // one call per line: the streams' lines never mix
    std::fflush(stdout);
  } catch (const std::exception& e) {  // no exception may leave a C callback (a label that is not UTF-8, say)
    std::fprintf(stderr, "detect-app: frame %llu: %s\n", static_cast<unsigned long long>(stream.frames), e.what());
  }

  // Enough frames from every source: end the streams from the application thread (a probe must not block).
  if (++stream.frames == app.max_frames && ++app.finished == app.streams.size())
    gst_element_post_message(app.pipeline, gst_message_new_application(GST_OBJECT(app.pipeline),
                                                                       gst_structure_new_empty("enough-frames")));
  return GST_PAD_PROBE_OK;
}

gboolean on_message(GstBus* bus, GstMessage* msg, gpointer data) {
  App& app = *static_cast<App*>(data);
  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR: {
      GError* error = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(msg, &error, &debug);
      std::fprintf(stderr, "detect-app: %s\n", error->message);
      g_clear_error(&error);
      g_free(debug);
      app.status = 1;
      g_main_loop_quit(app.loop);
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit(app.loop);
      break;
    case GST_MESSAGE_APPLICATION:
      gst_element_send_event(app.pipeline, gst_event_new_eos());
      break;
    default:
      break;
  }
  return TRUE;
}

// As pipelines/env.sh does for the scripts: the plugin of this checkout's build tree ($RETINANET_BUILD, or the
// build tree this program was built in) joins GST_PLUGIN_PATH, so the app runs before `meson install`.
void use_build_tree_plugin() {
  std::vector<std::string> roots;
  if (const char* build = std::getenv("RETINANET_BUILD"); build && *build) roots.push_back(build);
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    gchar* dir = g_path_get_dirname(exe);  // <build>/pipelines
    roots.push_back(std::string(dir) + "/..");
    g_free(dir);
  }
  for (const std::string& root : roots) {
    const std::string gst_dir = root + "/gst";
    if (!g_file_test((gst_dir + "/libgstretinanet.so").c_str(), G_FILE_TEST_EXISTS)) continue;
    const char* old = std::getenv("GST_PLUGIN_PATH");
    const std::string path = old && *old ? gst_dir + ":" + old : gst_dir;
    setenv("GST_PLUGIN_PATH", path.c_str(), 1);
    return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  use_build_tree_plugin();
  gst_init(&argc, &argv);
  App app;
  std::string model, options;
  std::vector<std::string> sources, ids;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--model" && i + 1 < argc) model = argv[++i];
    else if (arg == "--max-frames" && i + 1 < argc) app.max_frames = std::strtoull(argv[++i], nullptr, 10);
    else if (arg == "--detect-options" && i + 1 < argc) options = argv[++i];
    else if (arg == "--source" && i + 1 < argc) sources.push_back(argv[++i]);
    else if (arg == "--source-id" && i + 1 < argc) ids.push_back(argv[++i]);
    else if (arg[0] != '-') {
      gchar* uri = gst_uri_is_valid(arg.c_str()) ? g_strdup(arg.c_str()) : gst_filename_to_uri(arg.c_str(), nullptr);
      sources.push_back(std::string("uridecodebin uri=\"") + (uri ? uri : arg.c_str()) + "\"");
      g_free(uri);
    } else {
      std::fprintf(stderr, "usage: detect-app [--model FILE] [--detect-options PROPERTIES] [--max-frames N] "
                           "[--source DESCRIPTION]... [--source-id ID]... [FILE-OR-URI]...\n");
      return 2;
    }
  }
  if (sources.empty()) sources.push_back("videotestsrc num-buffers=30");
  if (ids.size() > sources.size()) {
    std::fprintf(stderr, "detect-app: %zu --source-id for %zu sources\n", ids.size(), sources.size());
    return 2;
  }

  // One branch per source; the detectors share one model instance.
  std::string launch;
  for (size_t i = 0; i < sources.size(); ++i) {
    auto stream = std::make_unique<Stream>();
    stream->app = &app;
    stream->source_id = i < ids.size() ? ids[i] : sources.size() == 1 ? "detect" : "cam" + std::to_string(i);
    app.streams.push_back(std::move(stream));
    launch += sources[i] + " ! videoconvert ! retinanetdetect name=detect" + std::to_string(i) +
              " model-instance-id=detect-app batch-size=" + std::to_string(sources.size()) +
              (model.empty() ? "" : " model=\"" + model + "\"") + " " + options + " ! fakesink ";
  }
  GError* error = nullptr;
  app.pipeline = gst_parse_launch(launch.c_str(), &error);
  if (!app.pipeline || error) {
    std::fprintf(stderr, "detect-app: %s\n", error ? error->message : "cannot build the pipeline");
    g_clear_error(&error);
    return 1;
  }
  for (size_t i = 0; i < app.streams.size(); ++i) {
    GstElement* detect = gst_bin_get_by_name(GST_BIN(app.pipeline), ("detect" + std::to_string(i)).c_str());
    GstPad* pad = gst_element_get_static_pad(detect, "src");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, app.streams[i].get(), nullptr);
    gst_object_unref(pad);
    gst_object_unref(detect);
  }

  app.loop = g_main_loop_new(nullptr, FALSE);
  GstBus* bus = gst_element_get_bus(app.pipeline);
  gst_bus_add_watch(bus, on_message, &app);
  if (gst_element_set_state(app.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) app.status = 1;
  // A failed start still posts its error (a missing model, say); the watch reports it and quits.
  g_main_loop_run(app.loop);
  gst_element_set_state(app.pipeline, GST_STATE_NULL);
  gst_bus_remove_watch(bus);
  gst_object_unref(bus);
  gst_object_unref(app.pipeline);
  g_main_loop_unref(app.loop);
  return app.status;
}
