#include "gst_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

namespace gst_test {

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value) throw std::runtime_error(std::string("environment variable ") + name + " not set");
  return value;
}

// The 4-byte formats: where R, G, B and the fourth byte go.
struct PackedLayout {
  GstVideoFormat format;
  int channels;
  int r, g, b, fourth;  // byte positions; fourth -1 for 3-byte formats
  bool alpha;
};
constexpr PackedLayout kPacked[] = {
    {GST_VIDEO_FORMAT_RGB, 3, 0, 1, 2, -1, false},  {GST_VIDEO_FORMAT_BGR, 3, 2, 1, 0, -1, false},
    {GST_VIDEO_FORMAT_RGBA, 4, 0, 1, 2, 3, true},   {GST_VIDEO_FORMAT_BGRA, 4, 2, 1, 0, 3, true},
    {GST_VIDEO_FORMAT_RGBx, 4, 0, 1, 2, 3, false},  {GST_VIDEO_FORMAT_BGRx, 4, 2, 1, 0, 3, false},
};

}  // namespace

std::string model_path() { return env("RETINANET_TEST_MODEL"); }
std::string frame_path(int width, int height) {
  return env("RETINANET_TEST_FRAMES") + "/frame_" + std::to_string(width) + "x" + std::to_string(height) + ".ppm";
}
std::string detect_tool() { return env("RETINANET_DETECT"); }

std::string scratch_dir(const std::string& name) {
  const std::string dir = env("RETINANET_TEST_SCRATCH") + "/" + name;
  g_mkdir_with_parents(dir.c_str(), 0755);
  return dir;
}

std::vector<nlohmann::json> read_json_lines(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

cv::Mat read_rgb(const std::string& path) {
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR), rgb;
  if (bgr.empty()) throw std::runtime_error("cannot read " + path);
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

void write_ppm(const std::string& path, const cv::Mat& rgb) {
  std::ofstream out(path, std::ios::binary);
  out << "P6\n" << rgb.cols << " " << rgb.rows << "\n255\n";
  for (int r = 0; r < rgb.rows; ++r) out.write(reinterpret_cast<const char*>(rgb.ptr(r)), rgb.cols * 3);
}

std::vector<GstVideoFormat> all_formats() {
  return {GST_VIDEO_FORMAT_RGB,  GST_VIDEO_FORMAT_BGR,  GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA,
          GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12};
}

Frame make_frame(const cv::Mat& rgb, GstVideoFormat format) {
  Frame f;
  f.format = format;
  f.width = rgb.cols;
  f.height = rgb.rows;
  for (const PackedLayout& p : kPacked) {
    if (p.format != format) continue;
    cv::Mat packed(rgb.rows, rgb.cols, CV_8UC(p.channels));
    for (int y = 0; y < rgb.rows; ++y)
      for (int x = 0; x < rgb.cols; ++x) {
        const uint8_t* s = rgb.ptr(y) + 3 * x;
        uint8_t* d = packed.ptr(y) + p.channels * x;
        d[p.r] = s[0];
        d[p.g] = s[1];
        d[p.b] = s[2];
        // Junk in an x byte must not change the result; alpha is opaque.
        if (p.fourth >= 0) d[p.fourth] = p.alpha ? 255 : static_cast<uint8_t>(x * 7 + y * 13);
      }
    f.planes = {packed};
    f.seen_rgb = rgb.clone();
    return f;
  }
  // 4:2:0: OpenCV's BT.601 conversion of the image padded to even sizes; Y cropped back, chroma ceil(w/2) wide.
  const int ew = rgb.cols + rgb.cols % 2, eh = rgb.rows + rgb.rows % 2;
  cv::Mat even, yuv, decoded;
  cv::copyMakeBorder(rgb, even, 0, eh - rgb.rows, 0, ew - rgb.cols, cv::BORDER_REPLICATE);
  cv::cvtColor(even, yuv, cv::COLOR_RGB2YUV_I420);  // [eh * 3 / 2, ew]: Y, then U and V planes back to back
  cv::cvtColor(yuv, decoded, cv::COLOR_YUV2RGB_I420);
  f.seen_rgb = decoded(cv::Rect(0, 0, rgb.cols, rgb.rows)).clone();
  cv::Mat y = yuv(cv::Rect(0, 0, rgb.cols, rgb.rows)).clone();
  cv::Mat u(eh / 2, ew / 2, CV_8UC1, yuv.ptr(eh)), v(eh / 2, ew / 2, CV_8UC1, yuv.ptr(eh) + (ew / 2) * (eh / 2));
  if (format == GST_VIDEO_FORMAT_I420) {
    f.planes = {y, u.clone(), v.clone()};
  } else {
    cv::Mat uv;
    cv::merge(std::vector<cv::Mat>{u, v}, uv);
    f.planes = {y, uv};
  }
  return f;
}

std::string caps_string(const Frame& f) {
  return std::string("video/x-raw,format=") + gst_video_format_to_string(f.format) + ",width=" +
         std::to_string(f.width) + ",height=" + std::to_string(f.height) + ",framerate=30/1";
}

GstBuffer* make_buffer(const Frame& f, GstClockTime pts) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, f.format, f.width, f.height);
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
  GstMapInfo map;
  gst_buffer_map(buffer, &map, GST_MAP_WRITE);
  for (size_t p = 0; p < f.planes.size(); ++p) {
    const cv::Mat& plane = f.planes[p];
    const size_t row_bytes = plane.cols * plane.elemSize();
    for (int r = 0; r < plane.rows; ++r)
      std::copy(plane.ptr(r), plane.ptr(r) + row_bytes,
                map.data + GST_VIDEO_INFO_PLANE_OFFSET(&info, p) + r * GST_VIDEO_INFO_PLANE_STRIDE(&info, p));
  }
  gst_buffer_unmap(buffer, &map);
  GST_BUFFER_PTS(buffer) = pts;
  GST_BUFFER_DURATION(buffer) = GST_SECOND / 30;
  return buffer;
}

std::vector<cv::Mat> read_planes(GstBuffer* buffer, const GstVideoInfo& info) {
  std::vector<cv::Mat> planes;
  GstMapInfo map;
  gst_buffer_map(buffer, &map, GST_MAP_READ);
  for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(&info); ++p) {
    // The plane's size from its first component: rows, and the bytes of pixels in a row (stride padding left out).
    guint comp = 0;
    while (GST_VIDEO_FORMAT_INFO_PLANE(info.finfo, comp) != p) ++comp;
    const int rows = GST_VIDEO_INFO_COMP_HEIGHT(&info, comp);
    const int row_bytes = GST_VIDEO_INFO_COMP_WIDTH(&info, comp) * GST_VIDEO_INFO_COMP_PSTRIDE(&info, comp);
    cv::Mat plane(rows, row_bytes, CV_8UC1);
    for (int r = 0; r < rows; ++r) {
      const uint8_t* src = map.data + GST_VIDEO_INFO_PLANE_OFFSET(&info, p) + r * GST_VIDEO_INFO_PLANE_STRIDE(&info, p);
      std::copy(src, src + row_bytes, plane.ptr(r));
    }
    planes.push_back(plane);
  }
  gst_buffer_unmap(buffer, &map);
  return planes;
}

std::vector<nlohmann::json> run_detect_tool(const std::vector<std::string>& images, const std::string& options) {
  std::string command = detect_tool() + " --weights '" + model_path() + "' " + options;
  for (const std::string& image : images) command += " '" + image + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::vector<nlohmann::json> lines;
  char* line = nullptr;
  size_t size = 0;
  while (getline(&line, &size, pipe) > 0) lines.push_back(nlohmann::json::parse(line));
  free(line);
  if (pclose(pipe) != 0) throw std::runtime_error("failed: " + command);
  if (lines.size() != images.size()) throw std::runtime_error("wrong number of lines from " + command);
  return lines;
}

void expect_regions_match(const std::vector<retinanet::gst::Region>& regions, const nlohmann::json& tool_line,
                          int width, int height) {
  const nlohmann::json& expected = tool_line.at("detections");
  ASSERT_EQ(regions.size(), expected.size()) << "detections on " << tool_line.at("image");
  for (size_t i = 0; i < regions.size(); ++i) {
    const retinanet::gst::Region& r = regions[i];
    const nlohmann::json& e = expected[i];
    SCOPED_TRACE("detection " + std::to_string(i) + " of " + tool_line.at("image").get<std::string>());
    ASSERT_TRUE(r.has_detection);
    EXPECT_EQ(r.label_id, e.at("label").get<int>());
    EXPECT_EQ(r.label, e.at("name").get<std::string>());
    EXPECT_NEAR(r.confidence, e.at("score").get<double>(), 1e-4);
    const double box[4] = {r.x_min * width, r.y_min * height, r.x_max * width, r.y_max * height};
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(box[k], e.at("box")[k].get<double>(), 1e-2) << "corner " << k;
    EXPECT_GE(r.x, 0);
    EXPECT_GE(r.y, 0);
    EXPECT_LE(r.x + r.w, width);
    EXPECT_LE(r.y + r.h, height);
    // The integer box covers the float one, by less than a pixel on each side.
    EXPECT_TRUE(r.x <= box[0] + 1e-3 && r.x > box[0] - 1) << r.x << " vs " << box[0];
    EXPECT_TRUE(r.y <= box[1] + 1e-3 && r.y > box[1] - 1) << r.y << " vs " << box[1];
    EXPECT_TRUE(r.x + r.w >= box[2] - 1e-3 && r.x + r.w < box[2] + 1) << r.x + r.w << " vs " << box[2];
    EXPECT_TRUE(r.y + r.h >= box[3] - 1e-3 && r.y + r.h < box[3] + 1) << r.y + r.h << " vs " << box[3];
  }
}

BusOutcome wait_for_end(GstElement* pipeline, GstClockTime timeout) {
  BusOutcome outcome;
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg =
      gst_bus_timed_pop_filtered(bus, timeout, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  if (!msg) {
    outcome.timed_out = true;
  } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
    outcome.eos = true;
  } else {
    GError* error = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(msg, &error, &debug);
    outcome.error = true;
    outcome.message = error ? error->message : "";
    outcome.debug = debug ? debug : "";
    g_clear_error(&error);
    g_free(debug);
  }
  if (msg) gst_message_unref(msg);
  gst_object_unref(bus);
  return outcome;
}

}  // namespace gst_test
