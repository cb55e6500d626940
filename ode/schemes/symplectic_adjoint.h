// SymplecticAdjoint (Matsubara, Miyatake & Yaguchi 2021): the exact gradient of an explicit
// Runge–Kutta discretization, computed stage by stage with the method's symplectic partner.
//
//   ode::odeint(f, z0, {0.0, 1.0}, {.solver = ode::Dopri5{.rtol = 1e-8},
//                                   .grad = ode::SymplecticAdjoint{}, .params = params});
//
// For a step z1 = z + h Σ b_i k_i, k_i = f(Z_i), Z_i = z + h Σ_j a_ij k_j, the adjoint is
//   K_i = h b_i λ1 + h Σ_{j>i} a_ji μ_j,   μ_i = (∂f/∂z(Z_i))ᵀ K_i,   λ0 = λ1 + Σ_i μ_i,
// with dL/dθ += (∂f/∂θ(Z_i))ᵀ K_i — the partitioned RK pairing of (b, a) with
// (b, b_j a_ji / b_i) that conserves the bilinear invariant λᵀδz, written so b_i = 0 is fine.
// Memory: the state at each step plus the s stage values of one step, and the graph of one
// evaluation of f at a time (backprop keeps all s·N evaluations' graphs). Cost: each
// backward step recomputes its stages and takes s vjps.
#pragma once

#include "ctdl/ode/scheme.h"

namespace ctdl::ode {

struct SymplecticAdjoint {
  std::string name() const { return "symplectic_adjoint"; }
  TensorList solve(const Problem& p) const;
};

}  // namespace ctdl::ode
