// BacksolveAdjoint (Chen, Rubanova, Bettencourt & Duvenaud 2018): solve the adjoint ODE
// backwards in time together with the state,
//   dz/dt = f,   da/dt = -aᵀ ∂f/∂z,   dg/dt = -aᵀ ∂f/∂θ,
// from a(T) = dL/dz(T), jumping by dL/dz(t_k) at each requested time (optimize-then-
// discretize).
//
//   ode::odeint(f, z0, {0.0, 1.0}, {.solver = ode::Dopri5{.rtol = 1e-6},
//                                   .grad = ode::BacksolveAdjoint{.solver = ode::Dopri5{.rtol =
//                                   1e-8},
//                                                                 .seminorm = true},
//                                   .params = params});
//
// Memory does not grow with the number of steps. The gradient approximates the exact
// one to the backward solve's tolerance; z is re-solved backwards, which is inaccurate for
// unstable or stiff reverse dynamics (the other schemes do not have that problem). With
// `seminorm` (Kidger, Chen & Lyons 2021) the step-size control ignores the dL/dθ channel,
// which rarely needs small steps: fewer backward steps for the same accuracy in z and a.
// dg/dt does not depend on g, so an explicit Runge–Kutta backward solve does not form g's
// stage inputs (ExplicitRKMethod::reading_only): the same result, fewer ops.
#pragma once

#include <optional>

#include "ctdl/ode/scheme.h"

namespace ctdl::ode {

struct BacksolveAdjoint {
  std::optional<Solver> solver;  // for the backward solve; default: the forward's
  double rtol = 0, atol = 0;     // > 0: override the backward solver's tolerances
  bool seminorm = false;
  std::string name() const { return "backsolve_adjoint"; }
  TensorList solve(const Problem& p) const;
};

}  // namespace ctdl::ode
