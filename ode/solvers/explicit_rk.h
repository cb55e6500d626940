// Explicit Runge–Kutta solvers: the classical fixed-step methods and the adaptive pairs.
//
//   Tensor z = ode::odeint(f, z0, {0.0, 1.0}, {.solver = ode::RK4{.step_size = 0.01}});
//   Tensor w = ode::odeint(f, z0, {0.0, 0.5, 1.0},
//                          {.solver = ode::Dopri5{.rtol = 1e-6, .atol = 1e-8}});
//
// Every method here is one ButcherTableau run by ExplicitRKMethod; ExplicitRK and
// AdaptiveRK run your own tableau. The adaptive ones take fixed steps too when given a
// step_size (useful to measure their order, or to compare with fixed-step schemes).
#pragma once

#include "ctdl/ode/solver.h"
#include "ctdl/ode/solvers/butcher.h"

namespace ctdl::ode {

class ExplicitRKMethod final : public Method {
 public:
  // `adaptive`: the method will be used with dense output; a tableau without its own
  // interpolant and not first-same-as-last gets one extra stage, f(z1), so that cubic
  // Hermite interpolation costs nothing (that stage is the next step's first).
  explicit ExplicitRKMethod(ButcherTableau tableau, bool adaptive = false);
  std::string name() const override { return tableau_.name; }
  int order() const override { return tableau_.order; }
  int error_order() const override { return tableau_.b_error.empty() ? 0 : tableau_.error_order; }
  StepOutput step(const Field& f, double t, double h, const SolverState& state) const override;
  State interpolate(const SolverState& before, const StepOutput& step, double h,
                    double theta) const override;
  // Weights w_i(θ) of the stages in z(t + θh) = z + h Σ w_i k_i.
  std::vector<double> dense_weights(double theta) const;
  const ButcherTableau& tableau() const { return tableau_; }
  // The same method for a field that reads only the first `components` components of the
  // state; the others are quadratures (an adjoint's parameter gradients: their derivatives
  // do not depend on them). The stages then leave those inputs at the step's starting
  // values instead of forming them, which changes no result: the same bits, fewer ops.
  std::shared_ptr<const ExplicitRKMethod> reading_only(size_t components) const;

 private:
  ButcherTableau tableau_;
  std::vector<double> error_weights_;  // b - b_error
  bool fsal_;
  size_t field_reads_ = static_cast<size_t>(-1);  // see reading_only
};

#define CTDL_ODE_FIXED_STEP_FIELDS \
  double step_size = 0;            \
  bool check_finite = true;

#define CTDL_ODE_ADAPTIVE_FIELDS                       \
  double rtol = 1e-7, atol = 1e-9;                     \
  double first_step = 0, min_step = 0, max_step = 0;   \
  int64_t max_steps = 100000;                          \
  double step_size = 0; /* > 0: fixed steps instead */ \
  bool check_finite = true;

// Forward Euler, order 1.
struct Euler {
  CTDL_ODE_FIXED_STEP_FIELDS
  Solver make() const;
};
// Explicit midpoint, order 2.
struct Midpoint {
  CTDL_ODE_FIXED_STEP_FIELDS
  Solver make() const;
};
// Heun's method (explicit trapezoid), order 2.
struct Heun {
  CTDL_ODE_FIXED_STEP_FIELDS
  Solver make() const;
};
// The classical Runge–Kutta method, order 4.
struct RK4 {
  CTDL_ODE_FIXED_STEP_FIELDS
  Solver make() const;
};
// Bogacki–Shampine 3(2), Hermite dense output.
struct Bosh3 {
  CTDL_ODE_ADAPTIVE_FIELDS
  Solver make() const;
};
// Dormand–Prince 5(4), its own 4th-order dense output.
struct Dopri5 {
  CTDL_ODE_ADAPTIVE_FIELDS
  Solver make() const;
};
// Tsitouras 5(4), Hermite dense output.
struct Tsit5 {
  CTDL_ODE_ADAPTIVE_FIELDS
  Solver make() const;
};
// Your tableau with fixed steps.
struct ExplicitRK {
  ButcherTableau tableau;
  CTDL_ODE_FIXED_STEP_FIELDS
  Solver make() const;
};
// Your embedded tableau with adaptive steps (needs b_error).
struct AdaptiveRK {
  ButcherTableau tableau;
  CTDL_ODE_ADAPTIVE_FIELDS
  Solver make() const;
};

// The StepControl of a fixed-step solver description.
template <class Config>
StepControl fixed_step_control(const Config& c) {
  StepControl s;
  s.step_size = c.step_size;
  s.check_finite = c.check_finite;
  return s;
}

// The StepControl of an adaptive solver description.
template <class Config>
StepControl adaptive_control(const Config& c) {
  StepControl s;
  s.step_size = c.step_size;
  s.rtol = c.rtol;
  s.atol = c.atol;
  s.first_step = c.first_step;
  s.min_step = c.min_step;
  s.max_step = c.max_step;
  s.max_steps = c.max_steps;
  s.check_finite = c.check_finite;
  return s;
}

}  // namespace ctdl::ode
