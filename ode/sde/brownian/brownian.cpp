#include "ctdl/ode/sde/brownian/brownian.h"

#include <cmath>

namespace ctdl::ode::sde {

BrownianMotion::BrownianMotion(BrownianOptions options) : o_(std::move(options)) {
  CTDL_CHECK(std::isfinite(o_.t0) && std::isfinite(o_.t1) && o_.t1 > o_.t0,
             "brownian motion: needs t0 < t1, got t0=", o_.t0, " t1=", o_.t1);
  CTDL_CHECK(!o_.shape.empty(), "brownian motion: give the shape of W ([batch, m])");
  CTDL_CHECK(o_.dtype == DType::Float32 || o_.dtype == DType::Float64,
             "brownian motion: dtype must be float32 or float64, got ", o_.dtype);
  numel_ = 1;
  for (int64_t s : o_.shape) numel_ *= s;
  if (o_.tol <= 0) o_.tol = (o_.t1 - o_.t0) * std::ldexp(1.0, -20);
}

std::pair<brownian::PathPoint, brownian::PathPoint> BrownianMotion::endpoints() const {
  const size_t n = static_cast<size_t>(numel_);
  brownian::PathPoint start{o_.t0, std::vector<double>(n, 0.0), {}};
  if (o_.levy_area) start.area.assign(n, 0.0);
  brownian::PathPoint end =
      brownian::step(start, o_.t1, brownian::split_seed(o_.seed, 0), o_.levy_area);
  return {start, end};
}

brownian::PathPoint BrownianMotion::locked_point(double t, const char* op) {
  // Requested times that overshoot t1 by rounding (t0 + n·h) are the end point.
  const double slack = 1e-12 * (o_.t1 - o_.t0);
  CTDL_CHECK(t >= o_.t0 - slack && t <= o_.t1 + slack, op, ": t=", t, " is outside [", o_.t0, ", ",
             o_.t1, "], the interval this Brownian motion was made for");
  std::lock_guard<std::mutex> lock(mutex_);
  return point(std::clamp(t, o_.t0, o_.t1));
}

Tensor BrownianMotion::to_tensor(const std::vector<double>& v) const {
  return tensor(v, o_.shape, {.dtype = DType::Float64}).to(o_.dtype);
}

Tensor BrownianMotion::increment(double s, double t) {
  brownian::PathPoint a = locked_point(s, "brownian motion"),
                      b = locked_point(t, "brownian motion");
  std::vector<double> d(a.w.size());
  for (size_t i = 0; i < d.size(); ++i) d[i] = b.w[i] - a.w[i];
  return to_tensor(d);
}

Increment BrownianMotion::increment_with_area(double s, double t) {
  CTDL_CHECK(o_.levy_area,
             "brownian motion: the Lévy area was asked for but not tracked; make "
             "the Brownian motion with levy_area = true");
  CTDL_CHECK(s != t, "brownian motion: the Lévy area of an empty interval (s = t = ", s, ")");
  brownian::PathPoint a = locked_point(s, "brownian motion"),
                      b = locked_point(t, "brownian motion");
  const brownian::PathPoint& lo = s < t ? a : b;
  const brownian::PathPoint& hi = s < t ? b : a;
  const double h = hi.t - lo.t;
  std::vector<double> w(a.w.size()), area(a.w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    w[i] = b.w[i] - a.w[i];
    area[i] = (hi.area[i] - lo.area[i] - h * lo.w[i]) / h - (hi.w[i] - lo.w[i]) / 2;
  }
  return {to_tensor(w), to_tensor(area)};
}

Tensor BrownianMotion::value(double t) { return to_tensor(locked_point(t, "brownian motion").w); }

}  // namespace ctdl::ode::sde
