#include "ctdl/ode/sde/brownian/virtual_tree.h"

namespace ctdl::ode::sde {

VirtualBrownianTree::VirtualBrownianTree(BrownianOptions options)
    : BrownianMotion(std::move(options)) {
  CTDL_CHECK(o_.tol >= (o_.t1 - o_.t0) * 1e-15, "VirtualBrownianTree: tol=", o_.tol,
             " is below what float64 times can resolve on [", o_.t0, ", ", o_.t1, "]");
  std::tie(start_, end_) = endpoints();
  // Levels hold the points later levels point at: never let the vector reallocate.
  path_.reserve(128);
}

brownian::PathPoint VirtualBrownianTree::point(double t) {
  if (t == start_.t) return start_;
  if (t == end_.t) return end_;
  const brownian::PathPoint* left = &start_;
  const brownian::PathPoint* right = &end_;
  uint64_t seed = brownian::split_seed(o_.seed, 1);
  for (size_t depth = 0;; ++depth) {
    if (right->t - left->t <= o_.tol) return brownian::bridge(*left, *right, t, seed);
    const double mid = 0.5 * (left->t + right->t);
    if (mid <= left->t || mid >= right->t || depth + 1 >= path_.capacity())
      return brownian::bridge(*left, *right, t, seed);
    if (depth >= path_.size() || path_[depth].lo != left->t || path_[depth].hi != right->t) {
      path_.resize(depth);  // the cached descent went elsewhere from here on
      path_.push_back({left->t, right->t, brownian::bridge(*left, *right, mid, seed)});
    }
    const brownian::PathPoint& m = path_[depth].mid;
    if (t == mid) return m;
    // Children's seeds: a pure function of the parent's, so of the path from the root.
    if (t < mid)
      right = &m, seed = brownian::split_seed(seed, 3);
    else
      left = &m, seed = brownian::split_seed(seed, 4);
  }
}

}  // namespace ctdl::ode::sde
