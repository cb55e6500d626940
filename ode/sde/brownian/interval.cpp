#include "ctdl/ode/sde/brownian/interval.h"

#include <bit>

namespace ctdl::ode::sde {

BrownianInterval::BrownianInterval(BrownianOptions options) : BrownianMotion(std::move(options)) {
  auto [start, end] = endpoints();
  points_.emplace(start.t, std::move(start));
  points_.emplace(end.t, std::move(end));
}

brownian::PathPoint BrownianInterval::point(double t) {
  const double snap = 1e-12 * (o_.t1 - o_.t0);
  auto right = points_.lower_bound(t);  // first stored time >= t (t1 is stored, so it exists)
  if (right->first - t <= snap) return right->second;
  auto left = std::prev(right);
  if (t - left->first <= snap) return left->second;
  uint64_t key = std::bit_cast<uint64_t>(t) ^ (std::bit_cast<uint64_t>(left->first) * 31) ^
                 (std::bit_cast<uint64_t>(right->first) * 131);
  brownian::PathPoint p =
      brownian::bridge(left->second, right->second, t, brownian::split_seed(o_.seed, key));
  points_.emplace_hint(right, t, p);
  return p;
}

}  // namespace ctdl::ode::sde
