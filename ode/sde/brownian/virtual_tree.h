// VirtualBrownianTree: a Brownian path that is never stored. W(t) is found by bisecting
// [t0, t1] towards t, sampling each midpoint from the Brownian bridge between the ends of its
// interval with a seed split off its parent's (Li, Wong, Chen & Duvenaud 2020, §4).
//
//   ode::sde::VirtualBrownianTree bm({.t0 = 0, .t1 = 1, .shape = {64, 2}, .seed = 3, .tol = 1e-6});
//   Tensor a = bm.increment(0.1, 0.2);
//   Tensor b = bm.increment(0.1, 0.2);   // the same numbers, whatever was asked in between
//
// Every midpoint is a pure function of the root seed and its position in the tree, so the
// path is identical whatever the order of queries and whichever thread asks. Dyadic times
// (t0 + k·(t1 - t0)/2^j) are tree nodes and come out exact; any other t is read from the
// bridge across the leaf interval (shorter than tol) that holds it, with that leaf's seed,
// so values are exact in distribution at each t and consistent to O(√tol) between two times
// in one leaf. A query costs O(log((t1 - t0)/tol)) bridge samples; the last descent is
// cached, so a solver's consecutive queries share most of it. Memory: O(log 1/tol) points.
#pragma once

#include "ctdl/ode/sde/brownian/brownian.h"

namespace ctdl::ode::sde {

class VirtualBrownianTree final : public BrownianMotion {
 public:
  explicit VirtualBrownianTree(BrownianOptions options);

 protected:
  brownian::PathPoint point(double t) override;

 private:
  struct Level {
    double lo = 0, hi = 0;    // the interval bisected at this depth
    brownian::PathPoint mid;  // its midpoint
  };
  brownian::PathPoint start_, end_;
  std::vector<Level> path_;  // the last descent, root first
};

}  // namespace ctdl::ode::sde
