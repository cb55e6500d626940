#include "ctdl/ode/sde/brownian/bridge.h"

#include <cmath>

#include "ctdl/tensor/random.h"

namespace ctdl::ode::sde::brownian {

uint64_t split_seed(uint64_t seed, uint64_t key) {
  philox::Block b = philox::generate(seed, key);
  return (static_cast<uint64_t>(b.w[0]) << 32) | b.w[1];
}

void normals(uint64_t seed, std::vector<double>& out, size_t n) {
  out.resize(n);
  for (size_t i = 0; i < n; ++i) out[i] = philox::normal(seed, i);
}

PathPoint step(const PathPoint& start, double end, uint64_t seed, bool levy_area) {
  const size_t n = start.w.size();
  const double h = end - start.t;
  std::vector<double> z1, z2;
  normals(split_seed(seed, 1), z1, n);
  PathPoint out{end, start.w, {}};
  for (size_t i = 0; i < n; ++i) out.w[i] += std::sqrt(h) * z1[i];
  if (levy_area) {
    normals(split_seed(seed, 2), z2, n);
    out.area = start.area;
    for (size_t i = 0; i < n; ++i) {
      double w = std::sqrt(h) * z1[i], hh = std::sqrt(h / 12) * z2[i];
      out.area[i] += h * (hh + w / 2) + h * start.w[i];
    }
  }
  return out;
}

PathPoint bridge(const PathPoint& left, const PathPoint& right, double t, uint64_t seed) {
  const size_t n = left.w.size();
  const double h = right.t - left.t, h1 = t - left.t, h2 = right.t - t;
  std::vector<double> z1, z2;
  normals(split_seed(seed, 1), z1, n);
  PathPoint out{t, std::vector<double>(n), {}};
  if (left.area.empty()) {
    const double sd = std::sqrt(h1 * h2 / h);
    for (size_t i = 0; i < n; ++i)
      out.w[i] = left.w[i] + (h1 / h) * (right.w[i] - left.w[i]) + sd * z1[i];
    return out;
  }
  normals(split_seed(seed, 2), z2, n);
  const double r = h1 / h, h3 = h * h * h;
  const double var_w = h1 * h2 / h - 3 * h1 * h1 * h2 * h2 / h3;
  const double cov = -h1 * h1 * h1 * h2 / (2 * h3);
  const double var_h = h1 / 12 - h1 * h1 * h1 * h1 / (12 * h3);
  const double l11 = std::sqrt(std::max(var_w, 0.0));
  const double l21 = l11 > 0 ? cov / l11 : 0.0;
  const double l22 = std::sqrt(std::max(var_h - l21 * l21, 0.0));
  out.area.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const double W = right.w[i] - left.w[i];
    const double H = (right.area[i] - left.area[i] - h * left.w[i]) / h - W / 2;
    const double w1 = r * W + 6 * h1 * h2 / (h * h) * H + l11 * z1[i];
    const double H1 = r * r * H + l21 * z1[i] + l22 * z2[i];
    out.w[i] = left.w[i] + w1;
    out.area[i] = left.area[i] + h1 * (H1 + w1 / 2) + h1 * left.w[i];
  }
  return out;
}

}  // namespace ctdl::ode::sde::brownian
