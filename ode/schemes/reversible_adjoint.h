// ReversibleAdjoint: for algebraically reversible solvers (ReversibleHeun,
// AsynchronousLeapfrog), walk the steps backwards by inverting them instead of storing
// them, backpropagating through one recomputed step at a time.
//
//   ode::odeint(f, z0, {0.0, 1.0}, {.solver = ode::ReversibleHeun{.step_size = 1e-3},
//                                   .grad = ode::ReversibleAdjoint{}, .params = params});
//
// Memory does not grow with the number of steps (only their sizes, host doubles, are
// kept). The gradient is that of the forward discretization up to the rounding errors of
// the reconstruction. Cost per backward step: one f evaluation to invert, one to record.
#pragma once

#include "ctdl/ode/scheme.h"

namespace ctdl::ode {

struct ReversibleAdjoint {
  std::string name() const { return "reversible_adjoint"; }
  TensorList solve(const Problem& p) const;
};

}  // namespace ctdl::ode
