// Implicit solvers for stiff problems: implicit Euler, the trapezoid rule (Crank–Nicolson) and
// BDF2, each step solved by Newton with a Jacobian-free GMRES inner solve (J·v from
// autograd's jvp), or by fixed-point iteration.
//
//   Tensor z = ode::odeint(f, z0, {0.0, 10.0},
//                          {.solver = ode::ImplicitEuler{.step_size = 0.5}});
//   Tensor w = ode::odeint(f, z0, {0.0, 10.0},
//                          {.solver = ode::Trapezoid{.step_size = 0.1,
//                                                    .nonlinear = {.method =
//                                                    ode::NonlinearMethod::FixedPoint}}});
//
// Each method's step is the equation z1 = c + alpha·f(t + h, z1), with c and alpha from the
// state before the step (ImplicitMethod::equation). Backprop differentiates that equation
// (implicit function theorem); ImplicitAdjoint uses it to take the whole backward pass
// without re-solving. Fixed steps only.
#pragma once

#include "ctdl/ode/krylov.h"
#include "ctdl/ode/solver.h"

namespace ctdl::ode {

class ImplicitMethod : public Method {
 public:
  explicit ImplicitMethod(NonlinearSolve nonlinear) : nonlinear_(nonlinear) {}
  struct Equation {
    State c;           // recorded from the state before (differentiable)
    double alpha = 0;  // z1 = c + alpha·f(t1, z1)
    double t1 = 0;
    State next_carry;  // the carry after the step (recorded from the state before)
  };
  virtual Equation equation(const Field& f, double t, double h,
                            const SolverState& before) const = 0;
  StepOutput step(const Field& f, double t, double h, const SolverState& state) const override;
  const NonlinearSolve& nonlinear() const { return nonlinear_; }

 private:
  NonlinearSolve nonlinear_;
};

// z1 = z0 + h·f(t1, z1). Order 1, L-stable.
struct ImplicitEuler {
  double step_size = 0;
  NonlinearSolve nonlinear;
  Solver make() const;
};
// z1 = z0 + h/2·(f(t0, z0) + f(t1, z1)). Order 2, A-stable.
struct Trapezoid {
  double step_size = 0;
  NonlinearSolve nonlinear;
  Solver make() const;
};
// Variable-step BDF2 (the first step is a trapezoid step). Order 2, A-stable.
struct BDF2 {
  double step_size = 0;
  NonlinearSolve nonlinear;
  Solver make() const;
};

}  // namespace ctdl::ode
