#include "model/training/synthetic_scene.h"

#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace retinanet {

namespace {

using Rng = std::mt19937_64;

double uniform(Rng& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }
int uniform_int(Rng& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
cv::Scalar random_colour(Rng& rng) { return cv::Scalar(uniform(rng, 0, 255), uniform(rng, 0, 255), uniform(rng, 0, 255)); }

void gradient(cv::Mat& img, Rng& rng) {
  const double angle = uniform(rng, 0, 2 * M_PI);
  const cv::Scalar a = random_colour(rng), b = random_colour(rng);
  const double cx = std::cos(angle), cy = std::sin(angle);
  const double extent = std::abs(cx) * img.cols + std::abs(cy) * img.rows;
  const double offset = std::min(0.0, cx * img.cols) + std::min(0.0, cy * img.rows);
  for (int y = 0; y < img.rows; ++y) {
    auto* row = img.ptr<cv::Vec3b>(y);
    for (int x = 0; x < img.cols; ++x) {
      const double t = (cx * x + cy * y - offset) / extent;
      for (int c = 0; c < 3; ++c) row[x][c] = cv::saturate_cast<uint8_t>(a[c] + (b[c] - a[c]) * t);
    }
  }
}

void noise(cv::Mat& img, Rng& rng) {
  img.setTo(random_colour(rng));
  // Low-frequency blotches from upsampled coarse noise, plus fine grain.
  const int cells = uniform_int(rng, 4, 24);
  cv::Mat coarse(cells, cells * img.cols / img.rows + 1, CV_32FC3);
  cv::randn(coarse, 0, uniform(rng, 10, 60));
  cv::Mat smooth;
  cv::resize(coarse, smooth, img.size(), 0, 0, cv::INTER_CUBIC);
  cv::Mat grain(img.size(), CV_32FC3);
  cv::randn(grain, 0, uniform(rng, 2, 25));
  cv::Mat f;
  img.convertTo(f, CV_32FC3);
  f += smooth + grain;
  f.convertTo(img, CV_8UC3);
}

void clutter(cv::Mat& img, Rng& rng) {
  const int lines = uniform_int(rng, 5, 40);
  for (int i = 0; i < lines; ++i) {
    cv::Point a(uniform_int(rng, -50, img.cols + 50), uniform_int(rng, -50, img.rows + 50));
    cv::Point b(uniform_int(rng, -50, img.cols + 50), uniform_int(rng, -50, img.rows + 50));
    cv::line(img, a, b, random_colour(rng), uniform_int(rng, 1, 4), cv::LINE_AA);
  }
  const int arcs = uniform_int(rng, 0, 6);
  for (int i = 0; i < arcs; ++i) {
    cv::ellipse(img, cv::Point(uniform_int(rng, 0, img.cols), uniform_int(rng, 0, img.rows)),
                cv::Size(uniform_int(rng, 20, 300), uniform_int(rng, 20, 300)), uniform(rng, 0, 180), 0,
                uniform(rng, 30, 200), random_colour(rng), uniform_int(rng, 1, 3), cv::LINE_AA);
  }
}

void background(cv::Mat& img, Rng& rng) {
  switch (uniform_int(rng, 0, 4)) {
    case 0: img.setTo(random_colour(rng)); break;
    case 1: gradient(img, rng); break;
    case 2: noise(img, rng); break;
    case 3: img.setTo(random_colour(rng)); clutter(img, rng); break;
    default: gradient(img, rng); clutter(img, rng); break;
  }
}

// Vertices of a square or triangle of side `size` centred at `c`, rotated by `angle`.
std::vector<cv::Point2f> polygon(int label, cv::Point2f c, double size, double angle) {
  const int n = label == kSquare ? 4 : 3;
  const double radius = label == kSquare ? size / std::sqrt(2.0) : size / std::sqrt(3.0);
  std::vector<cv::Point2f> pts;
  for (int i = 0; i < n; ++i) {
    const double a = angle + 2 * M_PI * i / n;
    pts.emplace_back(c.x + radius * std::cos(a), c.y + radius * std::sin(a));
  }
  return pts;
}

// Draws the shape with anti-aliased edges on `img` (when given) or as a hard mask on `mask`.
void draw_shape(cv::Mat& target, int label, cv::Point2f c, double size, const std::vector<cv::Point2f>& pts,
                const cv::Scalar& colour, int line_type) {
  constexpr int kShift = 4;  // sub-pixel vertex precision
  if (label == kCircle) {
    cv::circle(target, cv::Point(cvRound(c.x * 16), cvRound(c.y * 16)), cvRound(size / 2 * 16), colour, cv::FILLED,
               line_type, kShift);
    return;
  }
  std::vector<cv::Point> fixed;
  for (const auto& p : pts) fixed.emplace_back(cvRound(p.x * 16), cvRound(p.y * 16));
  cv::fillConvexPoly(target, fixed, colour, line_type, kShift);
}

}  // namespace

const std::vector<std::string>& shape_label_names() {
  static const std::vector<std::string> names{"", "circle", "square", "triangle"};
  return names;
}

Scene SceneGenerator::generate(uint64_t seed) const {
  Rng rng(seed * 0x9E3779B97F4A7C15ull + 1);
  const SceneOptions& o = options_;
  Scene scene;
  scene.bgr.create(o.height, o.width, CV_8UC3);
  background(scene.bgr, rng);

  const double scale = std::min(o.width, o.height) / 480.0;
  cv::Mat owner(o.height, o.width, CV_16S, cv::Scalar(-1));
  std::vector<int> area, visible;
  const int wanted = uniform_int(rng, o.min_objects, o.max_objects);
  for (int attempt = 0; attempt < wanted * 8 && static_cast<int>(scene.objects.size()) < wanted; ++attempt) {
    const int label = uniform_int(rng, kCircle, kTriangle);
    // Log-uniform extent so that small objects are as common as large ones.
    const double extent = std::exp(uniform(rng, std::log(o.min_size), std::log(o.max_size))) * scale;
    const double angle = uniform(rng, 0, 2 * M_PI);
    // `extent` is the box side for circles; polygons get the side whose box is about that large.
    const double size = label == kCircle ? extent : label == kSquare ? extent / std::sqrt(2.0) * 1.15 : extent * 1.05;
    const cv::Point2f c(uniform(rng, extent / 2, o.width - extent / 2), uniform(rng, extent / 2, o.height - extent / 2));
    std::vector<cv::Point2f> pts = label == kCircle ? std::vector<cv::Point2f>{} : polygon(label, c, size, angle);
    float x1, y1, x2, y2;
    if (label == kCircle) {
      x1 = c.x - size / 2, y1 = c.y - size / 2, x2 = c.x + size / 2, y2 = c.y + size / 2;
    } else {
      x1 = x2 = pts[0].x;
      y1 = y2 = pts[0].y;
      for (const auto& p : pts) {
        x1 = std::min(x1, p.x), x2 = std::max(x2, p.x);
        y1 = std::min(y1, p.y), y2 = std::max(y2, p.y);
      }
    }
    if (x1 < 0 || y1 < 0 || x2 > o.width || y2 > o.height) continue;

    cv::Mat mask = cv::Mat::zeros(o.height, o.width, CV_8U);
    draw_shape(mask, label, c, size, pts, cv::Scalar(255), cv::LINE_8);
    const int pixels = cv::countNonZero(mask);
    if (pixels < 20) continue;
    // Keep every earlier shape at least `min_visible` uncovered.
    bool hides_too_much = false;
    for (size_t i = 0; i < scene.objects.size() && !hides_too_much; ++i) {
      const int covered = cv::countNonZero((owner == static_cast<int>(i)) & mask);
      hides_too_much = visible[i] - covered < o.min_visible * area[i];
    }
    if (hides_too_much) continue;
    // A colour that stands out from what is under the shape.
    const cv::Scalar under = cv::mean(scene.bgr, mask);
    cv::Scalar colour;
    for (int k = 0; k < 20; ++k) {
      colour = random_colour(rng);
      if (std::abs(colour[0] - under[0]) + std::abs(colour[1] - under[1]) + std::abs(colour[2] - under[2]) > 120) break;
    }
    for (size_t i = 0; i < scene.objects.size(); ++i) visible[i] -= cv::countNonZero((owner == static_cast<int>(i)) & mask);
    owner.setTo(static_cast<int>(scene.objects.size()), mask);
    draw_shape(scene.bgr, label, c, size, pts, colour, cv::LINE_AA);
    area.push_back(pixels);
    visible.push_back(pixels);
    scene.objects.push_back({label, x1, y1, x2, y2});
  }

  if (uniform(rng, 0, 1) < 0.5) cv::GaussianBlur(scene.bgr, scene.bgr, cv::Size(0, 0), uniform(rng, 0.4, 1.2));
  if (uniform(rng, 0, 1) < 0.3) {
    cv::Mat grain(scene.bgr.size(), CV_16SC3);
    cv::randn(grain, 0, uniform(rng, 2, 10));
    cv::Mat sum;
    scene.bgr.convertTo(sum, CV_16SC3);
    sum += grain;
    sum.convertTo(scene.bgr, CV_8UC3);
  }
  if (uniform(rng, 0, 1) < 0.5) {
    std::vector<uint8_t> jpeg;
    cv::imencode(".jpg", scene.bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, uniform_int(rng, 30, 90)});
    scene.bgr = cv::imdecode(jpeg, cv::IMREAD_COLOR);
  }
  return scene;
}

}  // namespace retinanet
