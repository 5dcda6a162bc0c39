#include "tracking/assignment.h"

#include <algorithm>
#include <limits>

namespace retinanet::tracking {

namespace {

// The Hungarian method on an n x m matrix with n <= m (1-based arrays, as in the classic formulation): one
// shortest augmenting path per row, keeping dual potentials u (rows) and v (columns). O(n^2 m).
std::vector<int> hungarian_rows_le_cols(const CostMatrix& a) {
  const int n = a.rows, m = a.cols;
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(n + 1, 0), v(m + 1, 0);
  std::vector<int> p(m + 1, 0), way(m + 1, 0);  // p[j]: the row holding column j (0: none)
  for (int i = 1; i <= n; ++i) {
    p[0] = i;
    int j0 = 0;
    std::vector<double> minv(m + 1, inf);
    std::vector<char> used(m + 1, 0);
    do {
      used[j0] = 1;
      const int i0 = p[j0];
      double delta = inf;
      int j1 = 0;
      for (int j = 1; j <= m; ++j) {
        if (used[j]) continue;
        const double cur = a.at(i0 - 1, j - 1) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (int j = 0; j <= m; ++j) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {  // flip the augmenting path
      const int j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int> row_to_col(n, -1);
  for (int j = 1; j <= m; ++j)
    if (p[j] != 0) row_to_col[p[j] - 1] = j - 1;
  return row_to_col;
}

}  // namespace

std::vector<int> solve_assignment(const CostMatrix& costs) {
  if (costs.rows == 0 || costs.cols == 0) return std::vector<int>(costs.rows, -1);
  if (costs.rows <= costs.cols) return hungarian_rows_le_cols(costs);
  // More rows than columns: solve the transpose, then read it back.
  CostMatrix t(costs.cols, costs.rows);
  for (int r = 0; r < costs.rows; ++r)
    for (int c = 0; c < costs.cols; ++c) t.at(c, r) = costs.at(r, c);
  const std::vector<int> col_to_row = hungarian_rows_le_cols(t);
  std::vector<int> row_to_col(costs.rows, -1);
  for (int c = 0; c < costs.cols; ++c)
    if (col_to_row[c] >= 0) row_to_col[col_to_row[c]] = c;
  return row_to_col;
}

Matching match_with_limit(const CostMatrix& costs, double limit) {
  const int n = costs.rows, m = costs.cols;
  Matching out;
  if (n == 0 || m == 0) {
    for (int r = 0; r < n; ++r) out.unmatched_rows.push_back(r);
    for (int c = 0; c < m; ++c) out.unmatched_cols.push_back(c);
    return out;
  }
  // The square (n + m) problem of lapjv's extend_cost: [costs, row dummies; column dummies, 0]. Row r's dummy
  // (column m + r) and column c's dummy (row n + c) cost limit / 2; every other dummy entry is forbidden. An entry
  // above the limit is forbidden too: leaving both ends unmatched (limit) is always cheaper.
  const int size = n + m;
  double largest = std::max(limit, 0.0);
  for (double c : costs.cost) largest = std::max(largest, std::min(c, limit));
  const double forbidden = 1 + 2 * (largest + limit) * size;  // more than any assignment of allowed entries
  CostMatrix ext(size, size, forbidden);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < m; ++c)
      if (costs.at(r, c) <= limit) ext.at(r, c) = costs.at(r, c);
  for (int r = 0; r < n; ++r) ext.at(r, m + r) = limit / 2;
  for (int c = 0; c < m; ++c) ext.at(n + c, c) = limit / 2;
  for (int r = n; r < size; ++r)
    for (int c = m; c < size; ++c) ext.at(r, c) = 0;
  const std::vector<int> assigned = solve_assignment(ext);
  std::vector<char> col_used(m, 0);
  for (int r = 0; r < n; ++r) {
    const int c = assigned[r];
    if (c >= 0 && c < m && costs.at(r, c) <= limit) {
      out.pairs.emplace_back(r, c);
      col_used[c] = 1;
    } else {
      out.unmatched_rows.push_back(r);
    }
  }
  for (int c = 0; c < m; ++c)
    if (!col_used[c]) out.unmatched_cols.push_back(c);
  return out;
}

}  // namespace retinanet::tracking
