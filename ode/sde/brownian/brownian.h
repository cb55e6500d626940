// Brownian motion for SDE solvers: increments W(t) - W(s), and the space-time Lévy area when a
// solver needs it.
//
//   auto bm = std::make_shared<ode::sde::VirtualBrownianTree>(
//       ode::sde::BrownianOptions{.t0 = 0, .t1 = 1, .shape = {512, 3}, .seed = 7});
//   Tensor dw = bm->increment(0.25, 0.5);            // [512, 3], variance 0.25
//   ode::sde::Increment i = bm->increment_with_area(0.25, 0.5);   // needs .levy_area = true
//
// Three kinds, one interface (all sample on the host in float64 from ctdl's Philox generator,
// so a path does not depend on the number of threads or the device):
//   VirtualBrownianTree (virtual_tree.h)  any query in O(log 1/tol), nothing stored, the same
//                                         path whatever the order of queries
//   BrownianInterval (interval.h)         exact, every queried point kept, O(1) sequential
//                                         queries; the path depends on the order of queries
//   BrownianPath (path.h)                 a stored path on a grid (yours, or sampled)
//
// The space-time Lévy area of [s, t] is H = (1/(t - s)) ∫_s^t (W(r) - W(s)) dr - (W(t) - W(s))/2,
// Gaussian with variance (t - s)/12 and independent of the increment; SRA1 needs it for
// order 1.5. Implementations carry the running integral ∫ W dr beside W to provide it.
#pragma once

#include <mutex>

#include "ctdl/ode/sde/brownian/bridge.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::ode::sde {

struct BrownianOptions {
  double t0 = 0, t1 = 1;
  Dims shape;  // of W: [batch, m]
  DType dtype = DType::Float64;
  uint64_t seed = 0;
  bool levy_area = false;  // also track ∫ W dr (space-time Lévy area)
  // VirtualBrownianTree only: intervals are bisected until shorter than tol
  // (0: (t1 - t0)·2⁻²⁰).
  double tol = 0;
};

struct Increment {
  Tensor w;  // W(t) - W(s)
  Tensor h;  // the space-time Lévy area of the interval
};

class BrownianMotion {
 public:
  explicit BrownianMotion(BrownianOptions options);
  virtual ~BrownianMotion() = default;

  // W(t) - W(s), shaped options().shape. s > t is allowed: -(W(s) - W(t)).
  Tensor increment(double s, double t);
  // W(t) - W(s) and the Lévy area of the interval between them (the area is the same for
  // either direction). Needs levy_area.
  Increment increment_with_area(double s, double t);
  // W(t) - W(t0).
  Tensor value(double t);
  const BrownianOptions& options() const { return o_; }

 protected:
  // W(t) and ∫_{t0}^t W dr at t in [t0, t1]. Called under the lock, so implementations may
  // cache freely.
  virtual brownian::PathPoint point(double t) = 0;
  // The path at t0 and t1 (W(t0) = 0): what every implementation starts from.
  std::pair<brownian::PathPoint, brownian::PathPoint> endpoints() const;
  int64_t numel() const { return numel_; }
  BrownianOptions o_;

 private:
  brownian::PathPoint locked_point(double t, const char* op);
  Tensor to_tensor(const std::vector<double>& v) const;
  std::mutex mutex_;
  int64_t numel_ = 0;
};

}  // namespace ctdl::ode::sde
