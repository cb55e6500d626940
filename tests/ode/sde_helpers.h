// Shared by the SDE test files: strong errors against closed forms on a shared Brownian path.
#pragma once

#include "ctdl/ode/lab/sde_systems.h"
#include "ode_helpers.h"

namespace ctdl::testing {

inline std::shared_ptr<ode::sde::VirtualBrownianTree> tree(Dims shape, uint64_t seed,
                                                           double t1 = 1.0, bool levy = false) {
  return std::make_shared<ode::sde::VirtualBrownianTree>(ode::sde::BrownianOptions{
      .t0 = 0, .t1 = t1, .shape = shape, .seed = seed, .levy_area = levy, .tol = 1e-9});
}

// A [d] float64 tensor that does not require grad.
inline Tensor vec(std::vector<double> v) {
  int64_t n = static_cast<int64_t>(v.size());
  return tensor(v, {n}, kF64);
}

// Mean over the batch of |X_N - X(T)|, X(T) from the system's exact solution on bm's path.
inline double strong_error(const ode::lab::SdeSystem& s, const ode::sde::Solver& solver, double dt,
                           const Tensor& z0, double T,
                           const std::shared_ptr<ode::sde::BrownianMotion>& bm) {
  autograd::NoGradGuard no_grad;
  Tensor zs = ode::sdeint(s.sde, z0, {0.0, T}, {.solver = solver, .dt = dt, .brownian = bm});
  Tensor exact = s.exact(z0, T, bm->value(T));
  return abs(zs.select(0, 1) - exact).mean().item();
}

}  // namespace ctdl::testing
