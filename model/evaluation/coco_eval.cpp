#include "model/evaluation/coco_eval.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace retinanet {

const std::array<const char*, 12> kCocoMetricNames = {"AP",  "AP50", "AP75",  "APs", "APm", "APl",
                                                      "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};

namespace {

constexpr int kIous = 10, kRecalls = 101, kAreas = 4, kMaxDet = 100;
constexpr std::array<int, 3> kMaxDets = {1, 10, 100};
constexpr std::array<std::array<double, 2>, kAreas> kAreaRanges = {
    {{0, 1e10}, {0, 32.0 * 32}, {32.0 * 32, 96.0 * 96}, {96.0 * 96, 1e10}}};

// np.linspace's values: start + i * step, the last one exactly `stop`.
std::array<double, kIous> iou_thresholds() {
  std::array<double, kIous> t{};
  const double step = (0.95 - 0.5) / (kIous - 1);
  for (int i = 0; i < kIous; ++i) t[i] = i * step + 0.5;
  t[kIous - 1] = 0.95;
  return t;
}
std::array<double, kRecalls> recall_thresholds() {
  std::array<double, kRecalls> r{};
  const double step = 1.0 / (kRecalls - 1);
  for (int i = 0; i < kRecalls; ++i) r[i] = i * step;
  r[kRecalls - 1] = 1.0;
  return r;
}

// pycocotools' maskUtils.iou on boxes: a crowd box's overlap is over the detection's area only.
double box_iou(const ScoredBox& d, const CocoAnnotation& g) {
  const double dw = d.x2 - d.x1, dh = d.y2 - d.y1;
  const double w = std::min(d.x1 + dw, g.x + g.w) - std::max(d.x1, g.x);
  if (w <= 0) return 0;
  const double h = std::min(d.y1 + dh, g.y + g.h) - std::max(d.y1, g.y);
  if (h <= 0) return 0;
  const double inter = w * h, da = dw * dh;
  return inter / (g.crowd ? da : da + g.w * g.h - inter);
}

// COCOeval.evaluateImg for one image, category and area range: the top detections by score, whether each matched
// a ground-truth box (per IoU threshold) and whether it is ignored.
struct ImageEval {
  std::vector<double> scores;                      // sorted, at most kMaxDet
  std::vector<std::array<bool, kIous>> matched;    // per detection
  std::vector<std::array<bool, kIous>> ignored;    // per detection
  int counted_truth = 0;                           // ground truth not ignored
};

ImageEval evaluate_image(const std::vector<const CocoAnnotation*>& truth, const std::vector<const ScoredBox*>& dets,
                         const std::array<double, 2>& range, const std::array<double, kIous>& thresholds) {
  // Ground truth: the counted ones first (stable), then the ignored (crowd or outside the range).
  std::vector<const CocoAnnotation*> gt;
  std::vector<bool> gt_ignore;
  for (int pass = 0; pass < 2; ++pass)
    for (const CocoAnnotation* g : truth) {
      const bool ignore = g->crowd || g->area < range[0] || g->area > range[1];
      if (ignore == (pass == 1)) {
        gt.push_back(g);
        gt_ignore.push_back(ignore);
      }
    }
  ImageEval e;
  for (bool ig : gt_ignore) e.counted_truth += !ig;
  const size_t nd = dets.size(), ng = gt.size();
  std::vector<std::vector<double>> ious(nd, std::vector<double>(ng));
  for (size_t d = 0; d < nd; ++d)
    for (size_t g = 0; g < ng; ++g) ious[d][g] = box_iou(*dets[d], *gt[g]);
  e.scores.resize(nd);
  e.matched.assign(nd, {});
  e.ignored.assign(nd, {});
  for (size_t d = 0; d < nd; ++d) e.scores[d] = dets[d]->score;
  for (int t = 0; t < kIous; ++t) {
    std::vector<bool> gt_taken(ng, false);
    for (size_t d = 0; d < nd; ++d) {
      double best = std::min(thresholds[t], 1 - 1e-10);
      long m = -1;
      for (size_t g = 0; g < ng; ++g) {
        if (gt_taken[g] && !gt[g]->crowd) continue;  // already matched, and not a crowd
        if (m > -1 && !gt_ignore[m] && gt_ignore[g]) break;  // a counted match beats any ignored one
        if (ious[d][g] < best) continue;
        best = ious[d][g];
        m = static_cast<long>(g);
      }
      if (m == -1) {
        const ScoredBox& b = *dets[d];
        const double area = (b.x2 - b.x1) * (b.y2 - b.y1);
        e.ignored[d][t] = area < range[0] || area > range[1];
        continue;
      }
      e.ignored[d][t] = gt_ignore[m];
      e.matched[d][t] = true;
      gt_taken[m] = true;
    }
  }
  return e;
}

}  // namespace

CocoMetrics evaluate_coco(const CocoDataset& truth, const std::vector<std::vector<ScoredBox>>& detections) {
  const auto thresholds = iou_thresholds();
  const auto recall_thrs = recall_thresholds();
  std::vector<int> categories;
  for (size_t id = 1; id < truth.labels.size(); ++id)
    if (!truth.labels[id].empty()) categories.push_back(static_cast<int>(id));
  const size_t nk = categories.size();
  // COCOeval walks the images in the order of their ids.
  std::vector<size_t> order(truth.images.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return truth.images[a].id < truth.images[b].id; });

  // precision[t][r][k][a][m], recall[t][k][a][m]; -1 where a category has no counted ground truth.
  auto pidx = [&](int t, int r, size_t k, int a, int m) { return (((t * kRecalls + r) * nk + k) * kAreas + a) * 3 + m; };
  auto ridx = [&](int t, size_t k, int a, int m) { return ((t * nk + k) * kAreas + a) * 3 + m; };
  std::vector<double> precision(kIous * kRecalls * nk * kAreas * 3, -1.0), recall(kIous * nk * kAreas * 3, -1.0);

  for (size_t k = 0; k < nk; ++k) {
    // Per image: this category's ground truth and its top kMaxDet detections by score (stable).
    std::vector<std::vector<const CocoAnnotation*>> gts(order.size());
    std::vector<std::vector<const ScoredBox*>> dts(order.size());
    for (size_t i = 0; i < order.size(); ++i) {
      for (const CocoAnnotation& g : truth.images[order[i]].annotations)
        if (g.label == categories[k]) gts[i].push_back(&g);
      if (order[i] < detections.size())
        for (const ScoredBox& d : detections[order[i]])
          if (d.label == categories[k]) dts[i].push_back(&d);
      std::stable_sort(dts[i].begin(), dts[i].end(),
                       [](const ScoredBox* a, const ScoredBox* b) { return a->score > b->score; });
      if (dts[i].size() > static_cast<size_t>(kMaxDet)) dts[i].resize(kMaxDet);
    }
    for (int a = 0; a < kAreas; ++a) {
      std::vector<ImageEval> evals;
      for (size_t i = 0; i < order.size(); ++i)
        if (!gts[i].empty() || !dts[i].empty())
          evals.push_back(evaluate_image(gts[i], dts[i], kAreaRanges[a], thresholds));
      if (evals.empty()) continue;
      int counted = 0;
      for (const ImageEval& e : evals) counted += e.counted_truth;
      if (counted == 0) continue;
      for (int m = 0; m < 3; ++m) {
        // Every image's first maxDet detections, merged by score (stable over the images' order).
        struct Entry {
          double score;
          const ImageEval* e;
          size_t d;
        };
        std::vector<Entry> all;
        for (const ImageEval& e : evals)
          for (size_t d = 0; d < std::min(e.scores.size(), static_cast<size_t>(kMaxDets[m])); ++d)
            all.push_back({e.scores[d], &e, d});
        std::stable_sort(all.begin(), all.end(), [](const Entry& x, const Entry& y) { return x.score > y.score; });
        for (int t = 0; t < kIous; ++t) {
          std::vector<double> rc, pr;
          double tp = 0, fp = 0;
          for (const Entry& en : all) {
            if (en.e->ignored[en.d][t]) {
              // Ignored detections count neither way but keep their place in the cumulative sums.
            } else if (en.e->matched[en.d][t]) {
              tp += 1;
            } else {
              fp += 1;
            }
            rc.push_back(tp / counted);
            pr.push_back(tp / (fp + tp + std::numeric_limits<double>::epsilon()));
          }
          recall[ridx(t, k, a, m)] = rc.empty() ? 0 : rc.back();
          for (size_t i = pr.size(); i-- > 1;)
            if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          for (int r = 0; r < kRecalls; ++r) {
            const size_t at = std::lower_bound(rc.begin(), rc.end(), recall_thrs[r]) - rc.begin();
            precision[pidx(t, r, k, a, m)] = at < pr.size() ? pr[at] : 0;
          }
        }
      }
    }
  }

  // COCOeval.summarize: the mean of the measured (> -1) values of each slice, -1 when there are none.
  auto mean_ap = [&](int t_only, size_t k_only, int a, int m) {
    double sum = 0;
    long n = 0;
    for (int t = 0; t < kIous; ++t) {
      if (t_only >= 0 && t != t_only) continue;
      for (int r = 0; r < kRecalls; ++r)
        for (size_t k = 0; k < nk; ++k) {
          if (k_only != static_cast<size_t>(-1) && k != k_only) continue;
          const double v = precision[pidx(t, r, k, a, m)];
          if (v > -1) sum += v, ++n;
        }
    }
    return n ? sum / n : -1.0;
  };
  auto mean_ar = [&](int a, int m) {
    double sum = 0;
    long n = 0;
    for (int t = 0; t < kIous; ++t)
      for (size_t k = 0; k < nk; ++k) {
        const double v = recall[ridx(t, k, a, m)];
        if (v > -1) sum += v, ++n;
      }
    return n ? sum / n : -1.0;
  };
  const size_t all_k = static_cast<size_t>(-1);
  CocoMetrics out;
  out.stats = {mean_ap(-1, all_k, 0, 2), mean_ap(0, all_k, 0, 2), mean_ap(5, all_k, 0, 2),
               mean_ap(-1, all_k, 1, 2), mean_ap(-1, all_k, 2, 2), mean_ap(-1, all_k, 3, 2),
               mean_ar(0, 0),            mean_ar(0, 1),            mean_ar(0, 2),
               mean_ar(1, 2),            mean_ar(2, 2),            mean_ar(3, 2)};
  for (size_t k = 0; k < nk; ++k) out.per_class_ap.emplace_back(truth.labels[categories[k]], mean_ap(-1, k, 0, 2));
  return out;
}

nlohmann::ordered_json metrics_to_json(const CocoMetrics& metrics) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (size_t i = 0; i < kCocoMetricNames.size(); ++i) out[kCocoMetricNames[i]] = metrics.stats[i];
  nlohmann::ordered_json per_class = nlohmann::ordered_json::object();
  for (const auto& [name, ap] : metrics.per_class_ap) per_class[name] = ap;
  out["per_class_AP"] = per_class;
  return out;
}

}  // namespace retinanet
