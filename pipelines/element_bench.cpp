// element-bench: retinanetdetect against the bare detector on the same frames, in one process (not a test; run by
// pipelines/benchmark_element.py, which decodes the frames and sums up).
//
//   element-bench --raw FORMAT:WxH --pipeline "GST-LAUNCH LINE" [--model FILE] [--rounds N] FRAMES.raw
//
// FRAMES.raw holds the frames back to back, rows unpadded. The pipeline must hold a retinanetdetect named `d`
// that gets the same frames. Each round runs the bare detector (Detector::detect on every frame, from a thread of
// its own, as a GStreamer streaming thread runs the element) and then the pipeline, so both share one process,
// one LibTorch set-up (every core) and whatever load the machine has at that moment. Per frame it records the wall
// time and the process CPU time of the detect() call, and for the element the same between its sink and source
// pads (mapping, detector call, metadata). Prints one JSON object: {"threads": N, "rounds": [{"bare_ms": [...],
// "bare_cpu_ms": [...], "element_ms": [...], "element_cpu_ms": [...], "element_done_s": [...]}]}.
#include <gst/gst.h>
#include <torch/utils.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "model/inference/detector.h"
#include "tools/cli_args.h"

namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

// FORMAT:WxH, e.g. I420:640x480 (even sizes for I420 and NV12).
bool parse_raw(const std::string& text, retinanet::PixelFormat& format, int& width, int& height) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos || !retinanet::parse_pixel_format(text.substr(0, colon), format)) return false;
  char x = 0;
  if (std::sscanf(text.c_str() + colon + 1, "%d%c%d", &width, &x, &height) != 3 || x != 'x' || width <= 0 ||
      height <= 0)
    return false;
  return retinanet::packed_pixel_bytes(format) > 0 || (width % 2 == 0 && height % 2 == 0);
}

size_t frame_bytes(retinanet::PixelFormat format, int w, int h) {
  const int bytes = retinanet::packed_pixel_bytes(format);
  return bytes > 0 ? static_cast<size_t>(w) * h * bytes : static_cast<size_t>(w) * h * 3 / 2;
}

// One unpadded raw frame as the detector's image, laid out as GStreamer lays out the same frame.
retinanet::ImageView frame_view(retinanet::PixelFormat format, int w, int h, const uint8_t* data) {
  const int bytes = retinanet::packed_pixel_bytes(format);
  if (bytes > 0) return retinanet::ImageView::packed(format, w, h, data, static_cast<size_t>(w) * bytes);
  retinanet::ImageView v;
  v.format = format;
  v.width = w;
  v.height = h;
  v.planes[0] = data;
  v.strides[0] = w;
  v.planes[1] = data + static_cast<size_t>(w) * h;
  v.strides[1] = format == retinanet::PixelFormat::kNV12 ? w : w / 2;
  v.planes[2] = v.planes[1] + static_cast<size_t>(w / 2) * (h / 2);  // I420's V; unused by NV12
  v.strides[2] = w / 2;
  return v;
}

// The element's side of a round: per-frame times between retinanetdetect's pads.
struct ElementTimes {
  double entered_ms = 0, entered_cpu_ms = 0, start_ms = 0;
  nlohmann::json ms = nlohmann::json::array(), cpu = nlohmann::json::array(), done_s = nlohmann::json::array();
};

GstPadProbeReturn on_sink(GstPad*, GstPadProbeInfo*, gpointer data) {
  auto& t = *static_cast<ElementTimes*>(data);
  t.entered_ms = now_ms();
  t.entered_cpu_ms = cpu_ms();
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn on_src(GstPad*, GstPadProbeInfo*, gpointer data) {
  auto& t = *static_cast<ElementTimes*>(data);
  const double now = now_ms(), cpu = cpu_ms();
  t.ms.push_back(now - t.entered_ms);
  t.cpu.push_back(cpu - t.entered_cpu_ms);
  t.done_s.push_back((now - t.start_ms) / 1000);
  return GST_PAD_PROBE_OK;
}

// Runs the pipeline to its end; false (after a message on stderr) on an error.
bool run_pipeline(const std::string& launch, ElementTimes& times) {
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
  if (!pipeline || error) {
    std::cerr << "element-bench: " << (error ? error->message : "cannot build the pipeline") << '\n';
    if (error) g_error_free(error);
    return false;
  }
  GstElement* detect = gst_bin_get_by_name(GST_BIN(pipeline), "d");
  if (!detect) {
    std::cerr << "element-bench: the pipeline has no element named d\n";
    gst_object_unref(pipeline);
    return false;
  }
  GstPad* sink = gst_element_get_static_pad(detect, "sink");
  GstPad* src = gst_element_get_static_pad(detect, "src");
  gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER, on_sink, &times, nullptr);
  gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, on_src, &times, nullptr);
  times.start_ms = now_ms();
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, 600 * GST_SECOND,
                                               static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  bool ok = msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
  if (!ok) {
    std::string reason = "timed out";
    if (msg) {
      gst_message_parse_error(msg, &error, nullptr);
      reason = error->message;
      g_error_free(error);
    }
    std::cerr << "element-bench: the pipeline failed: " << reason << '\n';
  }
  if (msg) gst_message_unref(msg);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(sink);
  gst_object_unref(src);
  gst_object_unref(detect);
  gst_object_unref(pipeline);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  std::string raw, launch;
  retinanet::DetectorOptions options;
  int rounds = 3;
  std::vector<std::string> files;
  retinanet::cli::ArgParser args("element-bench",
                                 "usage: element-bench --raw FORMAT:WxH --pipeline \"GST-LAUNCH LINE\" [--model FILE]"
                                 " [--rounds N] FRAMES.raw\n");
  args.add_string("--raw", &raw);
  args.add_string("--pipeline", &launch);
  args.add_string("--model", &options.weights);
  args.add_int("--rounds", &rounds, 1);
  if (!args.parse(argc, argv, files)) return 2;
  retinanet::PixelFormat format = retinanet::PixelFormat::kRGB;
  int width = 0, height = 0;
  if (files.size() != 1) return args.fail("expects one FRAMES.raw file");
  if (!parse_raw(raw, format, width, height))
    return args.fail("--raw expects FORMAT:WIDTHxHEIGHT (e.g. I420:640x480), got '" + raw + "'");
  if (launch.empty()) return args.fail("no --pipeline given");
  std::ifstream in(files[0], std::ios::binary);
  if (!in) return args.fail("cannot open '" + files[0] + "'");
  const std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t bytes = frame_bytes(format, width, height);
  if (data.empty() || data.size() % bytes) return args.fail("'" + files[0] + "' does not hold whole " + raw + " frames");

  try {
    // Made on the main thread, as the element makes its own when the pipeline starts.
    retinanet::Detector detector(options);
    nlohmann::json out_rounds = nlohmann::json::array();
    for (int round = 0; round < rounds; ++round) {
      nlohmann::json bare_ms = nlohmann::json::array(), bare_cpu = nlohmann::json::array();
      std::thread worker([&] {
        for (size_t offset = 0; offset < data.size(); offset += bytes) {
          const retinanet::ImageView view = frame_view(format, width, height, data.data() + offset);
          const double t0 = now_ms(), c0 = cpu_ms();
          detector.detect(view);
          bare_ms.push_back(now_ms() - t0);
          bare_cpu.push_back(cpu_ms() - c0);
        }
      });
      worker.join();
      ElementTimes element;
      if (!run_pipeline(launch, element)) return 1;
      out_rounds.push_back({{"bare_ms", bare_ms}, {"bare_cpu_ms", bare_cpu}, {"element_ms", element.ms},
                            {"element_cpu_ms", element.cpu}, {"element_done_s", element.done_s}});
    }
    std::cout << nlohmann::json{{"threads", torch::get_num_threads()}, {"rounds", out_rounds}}.dump() << '\n';
  } catch (const std::exception& e) {
    return args.fail(e.what());
  }
  return 0;
}
