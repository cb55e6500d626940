// Backprop: differentiate through the solver's own operations (discretize-then-optimize).
//
//   Tensor z = ode::odeint(f, z0, {0.0, 1.0}, {.solver = ode::RK4{.step_size = 0.01},
//                                              .grad = ode::Backprop{}});
//
// The exact gradient of the discretization, at the price of keeping every step's graph:
// memory grows linearly with the number of steps. Adaptive step sizes are constants to the
// graph (the controller computes them on the host), so the gradient is that of the
// discretization with the accepted steps held fixed. Implicit steps are differentiated
// through their defining equation (implicit function theorem), not through Newton's iterates.
#pragma once

#include "ctdl/ode/scheme.h"

namespace ctdl::ode {

struct Backprop {
  std::string name() const { return "backprop"; }
  TensorList solve(const Problem& p) const;
};

}  // namespace ctdl::ode
