// Symplectic solvers for separable Hamiltonian systems, dq/dt = ∂H/∂p(p), dp/dt = -∂H/∂q(q):
// symplectic Euler, Störmer–Verlet (leapfrog) and Yoshida's 4th-order composition. They keep
// the energy bounded over very long times where rk4's drifts.
//
//   // z = [q | p] along the last dimension (or a state list {q, p}):
//   auto f = [](double, const Tensor& z) { return cat({z.narrow(-1, 1, 1), -z.narrow(-1, 0, 1)},
//   -1); }; Tensor zs = ode::odeint(f, z0, {0.0, 1000.0}, {.solver = ode::Leapfrog{.step_size =
//   0.01}});
//
// The state is {q, p} when it has two components, else one tensor whose last dimension is
// split into halves [q, p]. f is the usual f(t, z) -> dz/dt; a step calls it at mixed states
// and uses only the half that the separable structure makes independent of the other half,
// so f must be separable (the q-rate a function of p only, the p-rate of q only).
#pragma once

#include "ctdl/ode/solver.h"

namespace ctdl::ode {

// p1 = p + h·F_p(q), q1 = q + h·F_q(p1). Order 1.
struct SymplecticEuler {
  double step_size = 0;
  Solver make() const;
};
// Kick–drift–kick Störmer–Verlet. Order 2.
struct Leapfrog {
  double step_size = 0;
  Solver make() const;
};
using StormerVerlet = Leapfrog;
// Yoshida (1990): three leapfrog steps of h·w1, h·w0, h·w1. Order 4.
struct Yoshida4 {
  double step_size = 0;
  Solver make() const;
};

}  // namespace ctdl::ode
