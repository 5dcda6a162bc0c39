// Optimal assignment (the linear sum assignment problem) for the tracker's association: the Hungarian method with
// potentials (Kuhn-Munkres in the O(n^2 m) form of Jonker and Volgenant's shortest augmenting paths), small enough
// to read, and a thresholded matching in the manner of ByteTrack's `linear_assignment` (lap.lapjv with
// `extend_cost=True, cost_limit=thresh`): a pair costing more than the limit is never made, and leaving a row and
// a column unmatched costs exactly the limit, so a pair is made only when it is cheaper than leaving both alone.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace retinanet::tracking {

// A rows x cols cost matrix, row-major.
struct CostMatrix {
  int rows = 0, cols = 0;
  std::vector<double> cost;  // [rows, cols]

  CostMatrix() = default;
  CostMatrix(int r, int c, double fill = 0) : rows(r), cols(c), cost(static_cast<size_t>(r) * c, fill) {}
  double& at(int r, int c) { return cost[static_cast<size_t>(r) * cols + c]; }
  double at(int r, int c) const { return cost[static_cast<size_t>(r) * cols + c]; }
};

// The assignment of least total cost that matches min(rows, cols) pairs: for each row the column it takes, or -1
// (rows > cols leaves rows - cols rows unassigned). Costs must be finite.
std::vector<int> solve_assignment(const CostMatrix& costs);

struct Matching {
  std::vector<std::pair<int, int>> pairs;  // (row, col), by increasing row
  std::vector<int> unmatched_rows, unmatched_cols;
};

// The matching of least cost where each row and column is matched at most once, a pair costs its entry, and each
// row or column left unmatched costs limit / 2. Entries above `limit` are never matched.
Matching match_with_limit(const CostMatrix& costs, double limit);

}  // namespace retinanet::tracking
