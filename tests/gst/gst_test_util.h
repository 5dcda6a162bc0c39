// What the element tests share: the test model and frames made at build time, frames in each of the eight formats
// built from one RGB image, buffers laid out as GStreamer lays them out, and retinanet-detect's answers.
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <nlohmann/json.hpp>
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

#include "gst/detection_meta.h"

namespace gst_test {

// From the environment meson sets: the small test model and a directory of test frames (PPM, RGB).
std::string model_path();
std::string frame_path(int width, int height);
std::string detect_tool();
// A fresh directory under the build tree for one test's files.
std::string scratch_dir(const std::string& name);
// A JSON-lines file (retinanetjson's, retinanetpublish's method=file), one parsed object per line.
std::vector<nlohmann::json> read_json_lines(const std::string& path);

cv::Mat read_rgb(const std::string& path);
void write_ppm(const std::string& path, const cv::Mat& rgb);

// One frame in a GStreamer format: the planes as GStreamer orders them (packed: one; I420: Y, U, V; NV12: Y, UV).
struct Frame {
  GstVideoFormat format;
  int width = 0, height = 0;
  std::vector<cv::Mat> planes;
  cv::Mat seen_rgb;  // the RGB image the detector sees in this frame (YUV: OpenCV's BT.601 decoding)
};

// `rgb` in `format`. The 4-byte formats get a junk fourth byte (x) or an opaque alpha; odd-sized YUV is made from
// the image padded by its last row and column, as the element pads it.
Frame make_frame(const cv::Mat& rgb, GstVideoFormat format);
GstBuffer* make_buffer(const Frame& frame, GstClockTime pts = 0);
std::string caps_string(const Frame& frame);
// The planes of a buffer of `caps_info`'s layout, copied out, to compare pixels.
std::vector<cv::Mat> read_planes(GstBuffer* buffer, const GstVideoInfo& info);

// retinanet-detect's JSON line for each image (extra options such as "--score-threshold 0.3").
std::vector<nlohmann::json> run_detect_tool(const std::vector<std::string>& images, const std::string& options = "");

// Fails the current test unless `regions` (read from a buffer) equal the tool's detections on the same image:
// same count and order, same labels and names, scores within 1e-4, corners within 0.01 pixel, and the integer
// meta box covering the float box, clipped to the frame.
void expect_regions_match(const std::vector<retinanet::gst::Region>& regions, const nlohmann::json& tool_line,
                          int width, int height);

std::vector<GstVideoFormat> all_formats();

// A pipeline run: its first error or EOS, within a timeout.
struct BusOutcome {
  bool eos = false;
  bool error = false;
  bool timed_out = false;
  std::string message;  // the error's user message
  std::string debug;
};
BusOutcome wait_for_end(GstElement* pipeline, GstClockTime timeout);

}  // namespace gst_test
