// ImplicitAdjoint: gradients of implicit solvers by the implicit function theorem, without
// re-solving anything in the backward pass.
//
//   ode::odeint(f, z0, {0.0, 5.0}, {.solver = ode::ImplicitEuler{.step_size = 0.1},
//                                   .grad = ode::ImplicitAdjoint{}, .params = params});
//
// Each step solved z1 = c(z0) + α·f(t1, z1). Given λ1 = dL/dz1, the backward step solves
// (I - α ∂f/∂z(z1))ᵀ w = λ1 with GMRES (Jᵀ·v by vjp) and backpropagates w through
// c(z0) + α·f(t1, z1): dL/dz0 = (∂c/∂z0)ᵀ w, dL/dθ += α (∂f/∂θ)ᵀ w. The forward keeps the
// state at every step (no graphs). It is the gradient of the implicit discretization, to
// GMRES's tolerance. For single implicit layers (an implicit-Euler residual block,
// a deep-equilibrium fixed point) see ode/implicit_layers.h.
#pragma once

#include "ctdl/ode/krylov.h"
#include "ctdl/ode/scheme.h"

namespace ctdl::ode {

struct ImplicitAdjoint {
  KrylovOptions krylov;
  std::string name() const { return "implicit_adjoint"; }
  TensorList solve(const Problem& p) const;
};

}  // namespace ctdl::ode
