// BrownianInterval: an exact Brownian path that keeps every point it was asked about, so a
// solver's queries, forwards and then backwards over the same steps, cost O(1) each.
//
//   ode::sde::BrownianInterval bm({.t0 = 0, .t1 = 1, .shape = {16, 1}, .seed = 1});
//   for (int k = 0; k < 100; ++k) bm.increment(k * 0.01, (k + 1) * 0.01);   // sequential
//
// A new time is sampled from the Brownian bridge between its stored neighbours (Kidger,
// Foster, Li & Lyons 2021, who also cache); its seed is split from the root seed by the time
// and its neighbours, so the same sequence of queries gives the same path. A different order
// of first queries gives a different (equally valid) path: for order independence use
// VirtualBrownianTree. Times closer than 1e-12·(t1 - t0) to a stored time are that time, so
// a backward solve that reaches t0 + k·h by another rounding sees the same increments.
// Memory grows with the number of distinct times asked about (host memory, not tensors).
#pragma once

#include <map>

#include "ctdl/ode/sde/brownian/brownian.h"

namespace ctdl::ode::sde {

class BrownianInterval final : public BrownianMotion {
 public:
  explicit BrownianInterval(BrownianOptions options);
  size_t stored_points() const { return points_.size(); }

 protected:
  brownian::PathPoint point(double t) override;

 private:
  std::map<double, brownian::PathPoint> points_;
};

}  // namespace ctdl::ode::sde
