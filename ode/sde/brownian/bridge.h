// The arithmetic the Brownian motions share: splittable seeds, and the Brownian bridge (the
// path at a time between two known points), with or without the running time integral.
//
//   uint64_t left = brownian::split_seed(seed, 1), right = brownian::split_seed(seed, 2);
//   brownian::PathPoint mid = brownian::bridge(a, b, 0.5 * (a.t + b.t), left);
//
// A seed is split with Philox itself: split_seed(s, k) is the first 64 bits of Philox's
// block k under key s. Sub-seeds are a pure function of the root seed and the path taken to
// them, which is what makes the virtual Brownian tree independent of the query order.
//
// With the integral A(t) = ∫_{t0}^t W dr carried along, the bridge samples the pair
// (W, A) at t exactly: given the increment W and the Lévy area H of [s, u] (h = u - s), the
// first piece [s, t] (h1 = t - s, h2 = u - t) has, conditionally,
//   E[W1] = (h1/h) W + 6 h1 h2 / h² H,   E[H1] = (h1/h)² H,
//   Var W1 = h1 h2 / h - 3 h1² h2² / h³,  Cov = -h1³ h2 / (2 h³),  Var H1 = h1/12 - h1⁴ / (12 h³)
// (from H = (h1 H1 + h2 H2 + (h2 W1 - h1 W2)/2) / h, everything Gaussian and independent).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ctdl::ode::sde::brownian {

uint64_t split_seed(uint64_t seed, uint64_t key);

struct PathPoint {
  double t = 0;
  std::vector<double> w;     // W(t), one value per element of the motion's shape
  std::vector<double> area;  // ∫_{t0}^t W(r) dr; empty when the Lévy area is not tracked
};

// out[i] = a standard normal that depends only on (seed, i).
void normals(uint64_t seed, std::vector<double>& out, size_t n);
// W and ∫W at `end`, given the path at `start` (an unconditioned Brownian step).
PathPoint step(const PathPoint& start, double end, uint64_t seed, bool levy_area);
// The path at t (left.t < t < right.t) given both ends.
PathPoint bridge(const PathPoint& left, const PathPoint& right, double t, uint64_t seed);

}  // namespace ctdl::ode::sde::brownian
