#include "ctdl/ode/solvers/implicit.h"

namespace ctdl::ode {

StepOutput ImplicitMethod::step(const Field& f, double t, double h,
                                const SolverState& state) const {
  Equation eq = equation(f, t, h, state);
  // By value: the backward pass of the implicit step outlives this call.
  auto F = [f, t1 = eq.t1](const State& z) { return f(t1, z); };
  std::string context = str(name(), ": at t=", t, " with step size h=", h);
  StepOutput out;
  out.next.z = implicit_solve(F, eq.c, eq.alpha, state.z, nonlinear_, context);
  out.next.carry = std::move(eq.next_carry);
  out.next.last_step = h;
  return out;
}

namespace {

class ImplicitEulerMethod final : public ImplicitMethod {
 public:
  using ImplicitMethod::ImplicitMethod;
  std::string name() const override { return "implicit_euler"; }
  int order() const override { return 1; }
  Equation equation(const Field&, double t, double h, const SolverState& before) const override {
    return {before.z, h, t + h, {}};
  }
};

class TrapezoidMethod final : public ImplicitMethod {
 public:
  using ImplicitMethod::ImplicitMethod;
  std::string name() const override { return "trapezoid"; }
  int order() const override { return 2; }
  Equation equation(const Field& f, double t, double h, const SolverState& before) const override {
    return {axpy(before.z, h / 2, f(t, before.z)), h / 2, t + h, {}};
  }
};

class BDF2Method final : public ImplicitMethod {
 public:
  using ImplicitMethod::ImplicitMethod;
  std::string name() const override { return "bdf2"; }
  int order() const override { return 2; }
  Equation equation(const Field& f, double t, double h, const SolverState& before) const override {
    if (before.carry.empty())  // no history yet: a trapezoid step keeps order 2
      return {axpy(before.z, h / 2, f(t, before.z)), h / 2, t + h, before.z};
    // z1 - (1+ω)²/(1+2ω) z0 + ω²/(1+2ω) z_{-1} = h (1+ω)/(1+2ω) f(t1, z1), ω = h / h_prev.
    double w = h / before.last_step, d = 1 + 2 * w;
    State c = add(scale(before.z, (1 + w) * (1 + w) / d), scale(before.carry, -w * w / d));
    return {c, h * (1 + w) / d, t + h, before.z};
  }
};

template <class M>
Solver implicit_solver(const char* name, double step_size, const NonlinearSolve& nonlinear) {
  CTDL_CHECK(step_size > 0, name, ": implicit methods take fixed steps: give step_size > 0");
  StepControl control;
  control.step_size = step_size;
  return Solver(std::make_shared<M>(nonlinear), control);
}

}  // namespace

Solver ImplicitEuler::make() const {
  return implicit_solver<ImplicitEulerMethod>("implicit_euler", step_size, nonlinear);
}
Solver Trapezoid::make() const {
  return implicit_solver<TrapezoidMethod>("trapezoid", step_size, nonlinear);
}
Solver BDF2::make() const { return implicit_solver<BDF2Method>("bdf2", step_size, nonlinear); }

}  // namespace ctdl::ode
