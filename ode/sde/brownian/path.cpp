#include "ctdl/ode/sde/brownian/path.h"

#include <algorithm>
#include <cmath>

namespace ctdl::ode::sde {
namespace {

BrownianOptions options_of(const std::vector<double>& times, const Tensor& w) {
  CTDL_CHECK(times.size() >= 2, "BrownianPath: needs at least two times, got ", times.size());
  CTDL_CHECK(w.dim() >= 2 && w.size(0) == static_cast<int64_t>(times.size()),
             "BrownianPath: w must be [len(times), ...W's shape] = [", times.size(),
             ", ...], got shape ", w.shape());
  for (size_t i = 1; i < times.size(); ++i)
    CTDL_CHECK(times[i] > times[i - 1], "BrownianPath: times must increase; times[", i - 1,
               "] = ", times[i - 1], ", times[", i, "] = ", times[i]);
  return {.t0 = times.front(),
          .t1 = times.back(),
          .shape = Dims(w.shape().begin() + 1, w.shape().end()),
          .dtype = w.dtype()};
}

}  // namespace

BrownianPath::BrownianPath(BrownianOptions options, std::vector<double> times,
                           std::vector<brownian::PathPoint> points)
    : BrownianMotion(std::move(options)), times_(std::move(times)), points_(std::move(points)) {}

BrownianPath::BrownianPath(std::vector<double> times, const Tensor& w)
    : BrownianMotion(options_of(times, w)), times_(std::move(times)) {
  std::vector<double> all = w.detach().to(DType::Float64).contiguous().to_vector<double>();
  const size_t n = static_cast<size_t>(numel());
  for (size_t k = 0; k < times_.size(); ++k) {
    brownian::PathPoint p{
        times_[k], std::vector<double>(all.begin() + k * n, all.begin() + (k + 1) * n), {}};
    // W(t0) = 0 by convention: a path that starts elsewhere is shifted.
    if (k > 0)
      for (size_t i = 0; i < n; ++i) p.w[i] -= all[i];
    points_.push_back(std::move(p));
  }
  std::fill(points_[0].w.begin(), points_[0].w.end(), 0.0);
}

std::shared_ptr<BrownianPath> BrownianPath::sample(BrownianOptions options, int64_t steps) {
  CTDL_CHECK(steps > 0, "BrownianPath::sample: steps must be positive, got ", steps);
  CTDL_CHECK(options.t1 > options.t0, "BrownianPath::sample: needs t0 < t1");
  int64_t n = 1;
  for (int64_t s : options.shape) n *= s;
  std::vector<double> times;
  std::vector<brownian::PathPoint> points;
  brownian::PathPoint p{options.t0, std::vector<double>(static_cast<size_t>(n), 0.0), {}};
  if (options.levy_area) p.area.assign(static_cast<size_t>(n), 0.0);
  for (int64_t k = 0; k <= steps; ++k) {
    double t = k == steps ? options.t1
                          : options.t0 + (options.t1 - options.t0) * static_cast<double>(k) /
                                             static_cast<double>(steps);
    if (k > 0)
      p = brownian::step(p, t, brownian::split_seed(options.seed, static_cast<uint64_t>(k)),
                         options.levy_area);
    times.push_back(t);
    points.push_back(p);
  }
  return std::shared_ptr<BrownianPath>(new BrownianPath(options, times, std::move(points)));
}

brownian::PathPoint BrownianPath::point(double t) {
  auto it = std::lower_bound(times_.begin(), times_.end(), t);
  size_t k = static_cast<size_t>(it - times_.begin());
  double slack = 1e-9 * (times_.back() - times_.front()) / static_cast<double>(times_.size() - 1);
  if (k < times_.size() && times_[k] - t <= slack) return points_[k];
  if (k > 0 && t - times_[k - 1] <= slack) return points_[k - 1];
  fail("BrownianPath: t=", t, " is not one of the stored times (between ", times_[k - 1], " and ",
       times_[k],
       "); step on the path's grid, or use a BrownianInterval or a "
       "VirtualBrownianTree");
}

}  // namespace ctdl::ode::sde
