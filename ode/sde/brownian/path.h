// BrownianPath: a stored Brownian path on a grid of times, either given (to replay a path
// sampled elsewhere) or sampled here from a seed.
//
//   Tensor w = ...;                                          // [T, batch, m], w[0] = W(t0)
//   ode::sde::BrownianPath given(times, w);
//   auto sampled = ode::sde::BrownianPath::sample({.t1 = 1, .shape = {8, 2}, .seed = 4}, 1000);
//
// Only the stored times can be asked about (to within 1e-9 of the grid spacing): a solver
// must step on the grid or on a coarsening of it. A time between grid points is an error
// naming it; for anything else use BrownianInterval or VirtualBrownianTree. A sampled path
// with levy_area also stores ∫ W dr at the grid times, so SRA1 can run on it.
#pragma once

#include "ctdl/ode/sde/brownian/brownian.h"

namespace ctdl::ode::sde {

class BrownianPath final : public BrownianMotion {
 public:
  // times strictly increasing, w of shape [len(times), ...W's shape]; no Lévy area.
  BrownianPath(std::vector<double> times, const Tensor& w);
  // A path on `steps` equal steps over [t0, t1], sampled from options.seed.
  static std::shared_ptr<BrownianPath> sample(BrownianOptions options, int64_t steps);
  const std::vector<double>& times() const { return times_; }

 protected:
  brownian::PathPoint point(double t) override;

 private:
  BrownianPath(BrownianOptions options, std::vector<double> times,
               std::vector<brownian::PathPoint> points);
  std::vector<double> times_;
  std::vector<brownian::PathPoint> points_;
};

}  // namespace ctdl::ode::sde
