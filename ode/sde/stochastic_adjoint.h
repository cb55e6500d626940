// The stochastic adjoint (Li, Wong, Chen & Duvenaud 2020): dL/d(z0, θ) of an SDE solve from a
// second SDE solved backwards in time on the same Brownian path, in memory that does not
// grow with the number of steps.
//
//   Tensor zs = ode::sdeint(sde, z0, {0.0, 1.0},
//                           {.solver = ode::sde::Milstein{}, .dt = 1e-3,
//                            .grad = ode::sde::StochasticAdjoint{}, .params = params,
//                            .brownian = tree});       // a VirtualBrownianTree: flat memory too
//
// For a Stratonovich SDE dz = f dt + g∘dW the augmented state y = [z, a, dL/dθ] solves,
// from t_k back to t_{k-1},
//   dz = f dt + g∘dW,   da = -a·∂f/∂z dt - a·∂g/∂z∘dW,   d(dL/dθ) = -a·∂f/∂θ dt - a·∂g/∂θ∘dW,
// with the Brownian motion read backwards (a step from t to t + h < t uses W(t + h) - W(t)).
// The z-part retraces the forward path; z(t_k) is reset to the forward value at each
// requested time, and dL/dz(t_k) is added to a there. An Itô SDE is adjoined through its
// Stratonovich form f - ½ Σ_j (∂g_j/∂z) g_j (diagonal: ½ g ∂g/∂z), so its backward drift
// differentiates g twice (autograd, double backward). The noise products a·∂g/∂z·dW are
// vector-Jacobian products with the cotangent a ⊗ dW; the augmented SDE has no diffusion
// matrix, which is why its solver must be one that needs only products.
//
// The gradient converges to the exact pathwise gradient as dt → 0 (it is not the gradient
// of the forward discretization: that is what Backprop and ReversibleAdjoint compute).
#pragma once

#include <optional>

#include "ctdl/ode/scheme.h"
#include "ctdl/ode/sde/solver.h"

namespace ctdl::ode::sde {

struct StochasticAdjoint {
  // The backward solver: euler_heun, heun or midpoint. Default: the forward solver when it is
  // one of these, else midpoint.
  std::optional<sde::Solver> solver;
  // The backward step (0: the forward one).
  double dt = 0;
  std::string name() const { return "stochastic_adjoint"; }
  TensorList solve(const Problem& p) const;
};

// ½ Σ_j (∂g_j/∂z) g_j at (t, z) for the raw diffusion g = F(t, {z})[1]: the Itô-to-
// Stratonovich drift correction, recorded with create_graph (z must require grad).
Tensor ito_correction(Noise noise, const Tensor& g, const Tensor& z);

}  // namespace ctdl::ode::sde
