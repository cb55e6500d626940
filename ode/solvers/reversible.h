// Algebraically reversible solvers: the state before a step can be computed from the state
// after it, so reversible_adjoint backpropagates with memory independent of the number of
// steps (and gets the exact gradient of the discretization, up to rounding).
//
//   Tensor z = ode::odeint(f, z0, {0.0, 1.0},
//                          {.solver = ode::ReversibleHeun{.step_size = 0.01},
//                           .grad = ode::ReversibleAdjoint{}, .params = {w}});
//
// Reversible Heun (Kidger, Foster, Li & Lyons 2021) carries ŷ and f(ŷ) besides z:
//   ŷ1 = 2z - ŷ + h f(ŷ),  z1 = z + h/2 (f(ŷ) + f(ŷ1)).
// The asynchronous leapfrog of MALI (Zhuang, Dvornek, Tatikonda & Duncan 2021) carries v ≈ f(z):
//   k = z + v h/2,  u = f(t + h/2, k),  v1 = v + 2η(u - v),  z1 = k + v1 h/2.
// Both are order 2 and cost one evaluation of f per step.
#pragma once

#include "ctdl/ode/solver.h"

namespace ctdl::ode {

struct ReversibleHeun {
  double step_size = 0;
  Solver make() const;
};

struct AsynchronousLeapfrog {
  double step_size = 0;
  // η in (0, 1], η ≠ 1/2: MALI's damped ALF (1 is the plain method). Below 1 the inverse
  // step multiplies rounding errors in v by 1/|1 - 2η| per step, so reconstruction over
  // many steps (reversible_adjoint) is only accurate for η = 1.
  double damping = 1.0;
  Solver make() const;
};

}  // namespace ctdl::ode
