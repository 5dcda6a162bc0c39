// An application that embeds retinanetdetect and reads its detections from each buffer's metadata with a pad probe,
// a template for your own app. The metas are GStreamer's standard GstVideoRegionOfInterestMeta (read them with
// gst_buffer_iterate_meta_filtered and their `detection` param, as gst/detection_meta.cpp does); this app hands
// them to the project's one JSON writer, gst/frame_json.h, so that its lines are retinanetjson's.
//
//   detect-app [--model FILE] [--detect-options "PROPERTY=VALUE ..."] [--max-frames N]
//              [--source "GST-LAUNCH SOURCE"] [--source-id ID] [FILE-OR-URI]
//
// Prints one JSON line per frame, DESIGN.md's schema: {"frame": N, "pts": NS, "timestamp": S, "width": W,
// "height": H, "stale": false, "source": "detect", "detections": [{"label": 2, "name": "square", "score": 0.93, "box": [x1, y1, x2,
// y2]}]} with boxes in frame pixels; "source" is --source-id (default: "detect", the detector's name here). --detect-options gives retinanetdetect more properties ("interval=2
// score-threshold=0.5"). Without a FILE, URI or --source, a videotestsrc runs.
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "gst/frame_json.h"

namespace {

struct App {
  GstElement* pipeline = nullptr;
  GMainLoop* loop = nullptr;
  guint64 frames = 0;
  guint64 max_frames = 0;  // 0: until the end of the stream
  int status = 0;
  std::string source_id = "detect";
};

GstPadProbeReturn on_buffer(GstPad* pad, GstPadProbeInfo* info, gpointer data) {
  App& app = *static_cast<App*>(data);
  // Frames still in flight after the end was asked for are not reported.
  if (app.max_frames && app.frames >= app.max_frames) return GST_PAD_PROBE_DROP;
  GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  GstVideoInfo video;
  GstCaps* caps = gst_pad_get_current_caps(pad);
  const bool sized = caps && gst_video_info_from_caps(&video, caps);
  if (caps) gst_caps_unref(caps);
  const int width = sized ? GST_VIDEO_INFO_WIDTH(&video) : 0, height = sized ? GST_VIDEO_INFO_HEIGHT(&video) : 0;

  try {
    const std::string line = retinanet::gst::frame_json(buffer, app.frames, width, height, app.source_id).dump();
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  } catch (const std::exception& e) {  // no exception may leave a C callback (a label that is not UTF-8, say)
    std::fprintf(stderr, "detect-app: frame %llu: %s\n", static_cast<unsigned long long>(app.frames), e.what());
  }

  // Enough frames: end the stream from the application thread (a probe must not block on the pipeline).
  if (++app.frames == app.max_frames)
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

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  App app;
  std::string model, options, source, input;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--model" && i + 1 < argc) model = argv[++i];
    else if (arg == "--max-frames" && i + 1 < argc) app.max_frames = std::strtoull(argv[++i], nullptr, 10);
    else if (arg == "--detect-options" && i + 1 < argc) options = argv[++i];
    else if (arg == "--source" && i + 1 < argc) source = argv[++i];
    else if (arg == "--source-id" && i + 1 < argc) app.source_id = argv[++i];
    else if (arg[0] != '-' && input.empty()) input = arg;
    else {
      std::fprintf(stderr, "usage: detect-app [--model FILE] [--detect-options PROPERTIES] [--max-frames N] "
                           "[--source DESCRIPTION] [--source-id ID] [FILE-OR-URI]\n");
      return 2;
    }
  }
  if (source.empty() && !input.empty()) {
    gchar* uri = gst_uri_is_valid(input.c_str()) ? g_strdup(input.c_str()) : gst_filename_to_uri(input.c_str(), nullptr);
    source = std::string("uridecodebin uri=\"") + uri + "\"";
    g_free(uri);
  }
  if (source.empty()) source = "videotestsrc num-buffers=30";

  const std::string launch = source + " ! videoconvert ! retinanetdetect name=detect" +
                             (model.empty() ? "" : " model=\"" + model + "\"") + " " + options + " ! fakesink";
  GError* error = nullptr;
  app.pipeline = gst_parse_launch(launch.c_str(), &error);
  if (!app.pipeline) {
    std::fprintf(stderr, "detect-app: %s\n", error ? error->message : "cannot build the pipeline");
    return 1;
  }
  GstElement* detect = gst_bin_get_by_name(GST_BIN(app.pipeline), "detect");
  GstPad* pad = gst_element_get_static_pad(detect, "src");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &app, nullptr);
  gst_object_unref(pad);
  gst_object_unref(detect);

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
