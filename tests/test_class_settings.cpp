// Per-class settings at inference: the class-thresholds syntax, the labels file, the model file's
// class_score_thresh, and postprocess_detections with per-class thresholds and class-agnostic NMS against a
// brute-force reference written here from the documented definition (postprocess.h).
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>

#include "common/box_math.h"
#include "common/model_error.h"
#include "model/files/config.h"
#include "model/inference/class_options.h"
#include "model/inference/detector.h"
#include "model/inference/postprocess.h"
#include "model/network/arch.h"
#include "tests/random_model.h"

namespace retinanet {
namespace {

ModelConfig shapes_config() {
  ModelConfig config;
  config.num_classes = 4;
  config.labels = {"", "circle", "square", "triangle"};
  return config;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ModelError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ClassThresholds, NamesAndIndicesResolve) {
  const std::vector<float> t = parse_class_thresholds(" square = 0.6 ,1=0.25,", shapes_config());
  EXPECT_EQ(t, (std::vector<float>{-1, 0.25f, 0.6f, -1}));
  EXPECT_TRUE(parse_class_thresholds("", shapes_config()).empty());
  EXPECT_TRUE(parse_class_thresholds(" , ", shapes_config()).empty());
}

TEST(ClassThresholds, BadEntriesAreNamed) {
  const ModelConfig c = shapes_config();
  EXPECT_NE(error_of([&] { parse_class_thresholds("square=0.5,hexagon=0.3", c); }).find("'hexagon' is not a label"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_class_thresholds("4=0.3", c); }).find("'4' is not a label"), std::string::npos);
  EXPECT_NE(error_of([&] { parse_class_thresholds("square=1.5", c); }).find("'square' must lie in [0, 1], got 1.5"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_class_thresholds("square=-0.1", c); }).find("got -0.1"), std::string::npos);
  EXPECT_NE(error_of([&] { parse_class_thresholds("square=high", c); }).find("not a number: 'high'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_class_thresholds("square", c); }).find("'square' is not of the form"),
            std::string::npos);
  // Syntax alone (before the labels are known) accepts unknown names and refuses the rest alike.
  EXPECT_EQ(check_class_thresholds_syntax("hexagon=0.3"), "");
  EXPECT_NE(check_class_thresholds_syntax("square=2").find("got 2"), std::string::npos);
}

TEST(LabelsFile, RenamesOrGivesBothCounts) {
  const std::string path = ::testing::TempDir() + "labels_" + std::to_string(getpid()) + ".txt";
  std::ofstream(path) << "bg\r\n ball \nbox\nwedge\n";
  EXPECT_EQ(read_labels_file(path, 4), (std::vector<std::string>{"bg", "ball", "box", "wedge"}));
  const std::string message = error_of([&] { read_labels_file(path, 5); });
  EXPECT_NE(message.find("has 4 lines, the model 5 labels"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { read_labels_file(path + ".missing", 4); }).find("cannot open"), std::string::npos);
  std::remove(path.c_str());
}

TEST(ModelFileClassThresholds, ReadCheckedAndWrittenBack) {
  std::map<std::string, std::string> metadata = shapes_config().to_metadata();
  EXPECT_EQ(metadata.count("class_score_thresh"), 0u);
  metadata["class_score_thresh"] = R"({"square": 0.6, "3": 0.2})";
  const ModelConfig c = ModelConfig::from_metadata(metadata);
  EXPECT_EQ(c.class_score_thresh, (std::vector<float>{-1, -1, 0.6f, 0.2f}));
  EXPECT_EQ(c.to_metadata().at("class_score_thresh"), R"({"square":0.6,"triangle":0.2})");
  EXPECT_EQ(ModelConfig::from_metadata(c.to_metadata()).class_score_thresh, c.class_score_thresh);

  metadata["class_score_thresh"] = R"({"hexagon": 0.5})";
  EXPECT_NE(error_of([&] { ModelConfig::from_metadata(metadata); }).find("'hexagon'"), std::string::npos);
  metadata["class_score_thresh"] = R"({"square": 1.5})";
  EXPECT_NE(error_of([&] { ModelConfig::from_metadata(metadata); }).find("'class_score_thresh' must be a number"),
            std::string::npos);
  metadata["class_score_thresh"] = "[0.5]";
  EXPECT_NE(error_of([&] { ModelConfig::from_metadata(metadata); }).find("must be an object"), std::string::npos);
}

// Random head outputs for two levels, K classes: logits [HWA_l, K], deltas [HWA_l, 4], anchors [HWA_l, 4].
struct Levels {
  std::vector<torch::Tensor> logits, deltas, anchors;
};

Levels random_levels(int64_t k, uint64_t seed) {
  torch::manual_seed(seed);
  Levels v;
  for (int64_t n : {300, 60}) {
    v.logits.push_back(torch::randn({n, k}) * 2.0 - 2.0);
    v.deltas.push_back(torch::randn({n, 4}) * 0.2);
    const torch::Tensor xy = torch::rand({n, 2}) * 200, wh = torch::rand({n, 2}) * 50 + 10;
    v.anchors.push_back(torch::cat({xy, xy + wh}, 1).contiguous());
  }
  return v;
}

struct Candidate {
  Box box;
  float score;
  int64_t label;
};

// The definition in postprocess.h, step by step with plain loops: per level every sigmoid score above the
// lowest threshold, the best topk of them, those above their class's threshold; then greedy NMS over all levels
// by decreasing score (within a label, or across labels when agnostic), cut to detections_per_img.
// `filter_first`: the other order (class thresholds before the top-k), which the test data must tell apart.
std::vector<Candidate> brute_force(const Levels& v, const PostprocessOptions& o, float image_w, float image_h,
                                   bool filter_first = false) {
  const float lowest = lowest_score_thresh(o);
  std::vector<Candidate> all;
  for (size_t l = 0; l < v.logits.size(); ++l) {
    const int64_t k = v.logits[l].size(1);
    const torch::Tensor scores = torch::sigmoid(v.logits[l]).flatten().contiguous();
    const float* s = scores.data_ptr<float>();
    std::vector<int64_t> idx;
    const auto thresh_of = [&](int64_t i) {
      return o.class_score_thresh.empty() ? o.score_thresh : o.class_score_thresh[i % k];
    };
    for (int64_t i = 0; i < scores.numel(); ++i)
      if (s[i] > (filter_first ? thresh_of(i) : lowest)) idx.push_back(i);
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return s[a] > s[b]; });
    idx.resize(std::min<size_t>(idx.size(), static_cast<size_t>(o.topk_candidates)));
    for (int64_t i : idx) {
      const int64_t label = i % k, anchor = i / k;
      if (!(s[i] > thresh_of(i))) continue;
      const auto* a = v.anchors[l].data_ptr<float>() + 4 * anchor;
      const Box box = clip_box(decode_box(v.deltas[l].data_ptr<float>() + 4 * anchor, Box{a[0], a[1], a[2], a[3]}),
                               image_w, image_h);
      all.push_back({box, s[i], label});
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  std::vector<Candidate> kept;
  for (const Candidate& c : all) {
    bool suppressed = false;
    for (const Candidate& k : kept)
      suppressed = suppressed || ((o.agnostic_nms || k.label == c.label) &&
                                  box_iou(k.box, box_area(k.box), c.box, box_area(c.box)) > o.nms_thresh);
    if (!suppressed) kept.push_back(c);
  }
  kept.resize(std::min<size_t>(kept.size(), static_cast<size_t>(o.detections_per_img)));
  return kept;
}

void expect_equal(const RawDetections& got, const std::vector<Candidate>& want, const std::string& what) {
  ASSERT_EQ(got.scores.size(0), static_cast<int64_t>(want.size())) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    const auto r = static_cast<int64_t>(i);
    EXPECT_EQ(got.labels[r].item<int64_t>(), want[i].label) << what << " #" << i;
    EXPECT_EQ(got.scores[r].item<float>(), want[i].score) << what << " #" << i;
    EXPECT_EQ(got.boxes[r][0].item<float>(), want[i].box.x1) << what << " #" << i;
    EXPECT_EQ(got.boxes[r][3].item<float>(), want[i].box.y2) << what << " #" << i;
  }
}

RawDetections run(const Levels& v, const PostprocessOptions& o) {
  return postprocess_detections(v.logits, v.deltas, v.anchors, 240, 240, o);
}

TEST(PerClassPostprocess, EqualsTheDefinitionWithTopkBinding) {
  const Levels v = random_levels(4, 7);
  PostprocessOptions o;
  o.score_thresh = 0.3f;
  o.nms_thresh = 0.5f;
  o.topk_candidates = 80;  // binds on the 300-anchor level: the selection happens at the lowest threshold
  o.detections_per_img = 200;
  // High thresholds for classes 1 and 3: some of the top-k at the lowest threshold fail theirs.
  o.class_score_thresh = {0.3f, 0.95f, 0.15f, 0.9f};
  for (bool agnostic : {false, true}) {
    o.agnostic_nms = agnostic;
    const std::vector<Candidate> want = brute_force(v, o, 240, 240);
    ASSERT_GT(want.size(), 20u);
    const std::vector<Candidate> other = brute_force(v, o, 240, 240, /*filter_first=*/true);
    ASSERT_FALSE(std::equal(want.begin(), want.end(), other.begin(), other.end(),
                            [](const Candidate& a, const Candidate& b) { return a.score == b.score; }))
        << "the data must tell the top-k-then-filter order from the other";
    expect_equal(run(v, o), want, agnostic ? "agnostic" : "per-class NMS");
  }
}

// Per-class NMS: thresholds only remove boxes that could not suppress a kept box of their class, so the result
// also equals a run at the lowest threshold (no cap) filtered afterwards, then cut.
TEST(PerClassPostprocess, EqualsLowestThresholdRunFiltered) {
  const Levels v = random_levels(4, 11);
  PostprocessOptions lowest;
  lowest.score_thresh = 0.15f;
  lowest.detections_per_img = 100000;
  const RawDetections all = run(v, lowest);
  PostprocessOptions o = lowest;
  o.score_thresh = 0.4f;
  o.class_score_thresh = {0.4f, 0.7f, 0.15f, 0.4f};
  o.detections_per_img = 25;
  const RawDetections got = run(v, o);
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < all.scores.size(0) && static_cast<int>(keep.size()) < o.detections_per_img; ++i)
    if (all.scores[i].item<float>() > o.class_score_thresh[all.labels[i].item<int64_t>()]) keep.push_back(i);
  ASSERT_EQ(keep.size(), 25u);
  const torch::Tensor k = torch::tensor(keep);
  EXPECT_TRUE(torch::equal(got.boxes, all.boxes.index({k})));
  EXPECT_TRUE(torch::equal(got.scores, all.scores.index({k})));
  EXPECT_TRUE(torch::equal(got.labels, all.labels.index({k})));
}

// Thresholds that all equal score_thresh change nothing, bit for bit.
TEST(PerClassPostprocess, UniformThresholdsAreThePlainPostprocess) {
  const Levels v = random_levels(4, 3);
  PostprocessOptions plain;
  plain.score_thresh = 0.2f;
  PostprocessOptions uniform = plain;
  uniform.class_score_thresh.assign(4, 0.2f);
  const RawDetections a = run(v, plain), b = run(v, uniform);
  ASSERT_GT(a.scores.size(0), 50);
  EXPECT_TRUE(torch::equal(a.boxes, b.boxes) && torch::equal(a.scores, b.scores) && torch::equal(a.labels, b.labels));
  plain.agnostic_nms = false;
  expect_equal(a, brute_force(v, plain, 240, 240), "plain");
}

// One anchor scored as a square (0.96) and as a triangle (0.42): per-class NMS reports both, agnostic only the
// square; an overlapping weaker square goes either way, a distant triangle stays.
TEST(AgnosticNms, OneObjectOneLabel) {
  const auto logit = [](double p) { return static_cast<float>(std::log(p / (1 - p))); };
  Levels v;
  torch::Tensor logits = torch::full({3, 4}, -20.0f);
  logits[0][2] = logit(0.96);
  logits[0][3] = logit(0.42);
  logits[1][2] = logit(0.5);
  logits[2][3] = logit(0.8);
  v.logits = {logits};
  v.deltas = {torch::zeros({3, 4})};
  v.anchors = {torch::tensor({10.f, 10.f, 60.f, 60.f, 12.f, 12.f, 62.f, 62.f, 150.f, 150.f, 200.f, 200.f}).view({3, 4})};
  PostprocessOptions o;
  const RawDetections per_class = run(v, o);
  EXPECT_TRUE(torch::equal(per_class.labels, torch::tensor({2, 3, 3}, torch::kInt64))) << per_class.labels;
  o.agnostic_nms = true;
  const RawDetections agnostic = run(v, o);
  ASSERT_EQ(agnostic.labels.size(0), 2);
  EXPECT_EQ(agnostic.labels[0].item<int64_t>(), 2);
  EXPECT_FLOAT_EQ(agnostic.scores[0].item<float>(), 0.96f);
  EXPECT_EQ(agnostic.labels[1].item<int64_t>(), 3);
  EXPECT_FLOAT_EQ(agnostic.scores[1].item<float>(), 0.8f);
  expect_equal(agnostic, brute_force(v, o, 240, 240), "agnostic, constructed");
}

// The Detector end to end on a random model: the file's class_score_thresh is the default, Thresholds' class_score
// replaces it, thresholds that name no class leave the plain result bit for bit, and a labels file renames.
TEST(PerClassDetector, ModelFileThresholdsLabelsFileAndOverrides) {
  // The small architecture: a load in well under a second.
  ModelConfig config = default_config("retinanet_tiny_fpn");
  config.num_classes = 5;
  config.labels = {"bg", "a", "b", "c", "d"};
  config.min_size = 96;
  config.max_size = 160;
  config.detections_per_img = 1000;
  config.score_thresh = 0.05f;
  const std::string plain_path = testing::write_random_model("plain", config, 5);
  config.class_score_thresh = {-1, 0.5f, -1, 0.2f, -1};
  const std::string per_class_path = testing::write_random_model("per_class", config, 5);
  const std::string labels = ::testing::TempDir() + "names_" + std::to_string(getpid()) + ".txt";
  std::ofstream(labels) << "zero\none\ntwo\nthree\nfour\n";

  DetectorOptions o;
  o.device = "cpu";
  o.weights = plain_path;
  Detector plain(o);
  o.weights = per_class_path;
  o.labels_file = labels;
  Detector per_class(o);
  std::remove(plain_path.c_str());
  std::remove(per_class_path.c_str());
  std::remove(labels.c_str());
  EXPECT_EQ(per_class.config().labels, (std::vector<std::string>{"zero", "one", "two", "three", "four"}));

  const testing::RandomFrame frame = testing::random_frame(120, 90, 1);
  const Detections base = plain.detect(frame.view());
  ASSERT_GT(base.size(), 50u);
  const auto same = [](const Detections& a, const Detections& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i].label != b[i].label || a[i].score != b[i].score || a[i].x1 != b[i].x1 || a[i].y2 != b[i].y2)
        return false;
    return true;
  };
  // No class named: the plain result, exactly.
  Thresholds none;
  none.class_score.assign(5, -1.0f);
  EXPECT_TRUE(same(plain.detect_batch({frame.view()}, {none})[0], base));
  // The file's thresholds, and the same given per frame to the plain model: equal, and each class above its own.
  const Detections from_file = per_class.detect(frame.view());
  Thresholds given;
  given.class_score = config.class_score_thresh;
  EXPECT_TRUE(same(plain.detect_batch({frame.view()}, {given})[0], from_file));
  EXPECT_LT(from_file.size(), base.size());
  for (const Detection& d : from_file) {
    EXPECT_GT(d.score, d.label == 1 ? 0.5f : d.label == 3 ? 0.2f : 0.05f) << d.label;
    EXPECT_EQ(d.name, std::vector<std::string>({"zero", "one", "two", "three", "four"})[d.label]);
  }
  // Per-frame thresholds replace the file's; a list of the wrong length is refused.
  Thresholds other;
  other.class_score = {-1, -1, 0.4f, -1, -1};
  const Detections replaced = per_class.detect_batch({frame.view()}, {other})[0];
  EXPECT_TRUE(same(replaced, plain.detect_batch({frame.view()}, {other})[0]));
  EXPECT_TRUE(std::any_of(replaced.begin(), replaced.end(), [](const Detection& d) { return d.label == 1; }));
  Thresholds wrong;
  wrong.class_score = {0.3f};
  EXPECT_THROW(plain.detect_batch({frame.view()}, {wrong}), ModelError);
}

}  // namespace
}  // namespace retinanet
