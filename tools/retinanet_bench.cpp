// retinanet-bench: per-image latency of the detector on images, for scripts/benchmark.py (not a test).
// Prints one JSON object: {"device": ..., "threads": N, "latency_ms": [median per image...], "peak_rss_mb": M}.
#include <sys/resource.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "model/inference/detector.h"
#include "common/model_error.h"
#include "tools/cli_args.h"

int main(int argc, char** argv) {
  retinanet::DetectorOptions options;
  int warmup = 1, repeat = 5;
  std::vector<std::string> images;
  retinanet::cli::ArgParser args("retinanet-bench",
                                 "usage: retinanet-bench --weights FILE [--device D] [--half] [--min-size N] [--max-size N]\n"
                                 "                       [--threads N] [--warmup N] [--repeat N] [--batch N] IMAGE...\n"
                                 "latency_ms: per image (a batch's time divided by --batch)\n");
  args.add_string("--weights", &options.weights);
  args.add_string("--device", &options.device);
  args.add_switch("--half", &options.half);
  args.add_int("--min-size", &options.min_size, 1);
  args.add_int("--max-size", &options.max_size, 1);
  args.add_int("--threads", &options.threads, 1);
  args.add_int("--warmup", &warmup, 0);
  args.add_int("--repeat", &repeat, 1);
  int batch = 1;  // frames per forward pass: copies of the image, as N cameras of one resolution give
  args.add_int("--batch", &batch, 1, 256);
  if (!args.parse(argc, argv, images)) return 2;
  if (images.empty()) return args.fail("no IMAGE given");
  try {
    retinanet::Detector detector(options);
    nlohmann::json latencies = nlohmann::json::array();
    for (const std::string& path : images) {
      cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
      if (bgr.empty()) return args.fail("cannot read image '" + path + "'");
      auto view = retinanet::ImageView::packed(retinanet::PixelFormat::kBGR, bgr.cols, bgr.rows, bgr.data, bgr.step);
      const std::vector<retinanet::ImageView> views(static_cast<size_t>(batch), view);
      auto run = [&] {
        if (batch == 1)
          detector.detect(view);
        else
          detector.detect_batch(views);
      };
      for (int i = 0; i < warmup; ++i) run();
      std::vector<double> ms;  // per image
      for (int i = 0; i < repeat; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / batch);
      }
      std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
      latencies.push_back(ms[ms.size() / 2]);
    }
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    std::cout << nlohmann::json{{"device", detector.device()},
                                {"batch", batch},
                                {"threads", torch::get_num_threads()},
                                {"latency_ms", latencies},
                                {"peak_rss_mb", usage.ru_maxrss / 1024.0}}
                     .dump()
              << '\n';
  } catch (const std::exception& e) {
    return args.fail(e.what());
  }
  return 0;
}
