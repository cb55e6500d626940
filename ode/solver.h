// The solver interface: a Method takes one step; a StepControl says how big the steps are;
// a Solver pairs the two and is what odeint and the gradient schemes are given.
//
//   ode::Solver s = ode::Dopri5{.rtol = 1e-6, .atol = 1e-8};   // adaptive
//   ode::Solver r = ode::RK4{.step_size = 0.01};               // fixed steps
//   const ode::Method& m = s.method();                         // m.step(f, t, h, state)
//
// A method's state is more than z for some methods: reversible Heun carries ŷ and f(ŷ), the
// asynchronous leapfrog carries v ≈ f(z), BDF2 the previous z. That is `carry`, part of the
// mathematical state (gradients flow through it). `cache` holds what may be recomputed
// from z and dropped at will (the first-same-as-last derivative of an RK pair): a gradient
// scheme that replays a step from a checkpoint drops it, so the recomputed value is
// attached to the checkpoint in the graph.
#pragma once

#include <concepts>
#include <memory>
#include <string>

#include "ctdl/ode/state.h"

namespace ctdl::ode {

struct SolverState {
  State z;
  State carry;
  State cache;
  double last_step = 0;  // the previous step's size, for multistep methods (BDF2)
};

// What one step produces.
struct StepOutput {
  SolverState next;
  State error;                // local error estimate (adaptive methods); empty otherwise
  std::vector<State> stages;  // what dense output needs (RK stage derivatives)
};

class Method {
 public:
  virtual ~Method() = default;
  virtual std::string name() const = 0;
  // Order of convergence of the solution.
  virtual int order() const = 0;
  // Order of the embedded error estimate, 0 when the method has none (fixed steps only).
  virtual int error_order() const { return 0; }
  // The state a solve starts from: z0 and the method's carry (e.g. v0 = f(t0, z0)).
  virtual SolverState init(const Field& f, double t0, const State& z0) const;
  // One step from t to t + h (h may be negative).
  virtual StepOutput step(const Field& f, double t, double h, const SolverState& state) const = 0;
  // z at t + theta·h, 0 < theta < 1, from the step's output (dense output).
  virtual State interpolate(const SolverState& before, const StepOutput& step, double h,
                            double theta) const;
  // Algebraically reversible methods recover the state before a step from the state after.
  virtual bool reversible() const { return false; }
  virtual SolverState inverse_step(const Field& f, double t, double h,
                                   const SolverState& after) const;
};

// How steps are chosen. With step_size > 0, fixed steps: each interval between requested
// times is cut into ceil(|Δt| / step_size) equal steps, so requested times are hit exactly and
// nothing is read back to the host per step. Otherwise adaptive (the method must have an
// error estimate): a PI controller on the error ratio RMS(err / (atol + rtol·max(|z0|, |z1|))).
struct StepControl {
  double step_size = 0;  // > 0: fixed steps
  double rtol = 1e-7, atol = 1e-9;
  double first_step = 0;       // 0: chosen automatically (Hairer, Nørsett & Wanner, II.4)
  double min_step = 0;         // an adaptive step below this is an error
  double max_step = 0;         // 0: unbounded
  int64_t max_steps = 100000;  // accepted + rejected steps per solve before giving up
  double safety = 0.9, min_factor = 0.2, max_factor = 10.0;
  // The error norm uses only the first `error_components` components of the state (all by
  // default). Backsolve's seminorm sets it so the parameter-gradient channel does not
  // shrink the steps.
  size_t error_components = static_cast<size_t>(-1);
  // Fixed steps: check that the state is finite at each requested time (one host read each).
  bool check_finite = true;

  bool adaptive() const { return step_size <= 0; }
};

class Solver {
 public:
  Solver(std::shared_ptr<const Method> method, StepControl control);
  // Any solver description with `Solver make() const` (ode::RK4{...}, ode::Dopri5{...}, ...).
  template <class Config>
  requires requires(const Config& c) {
    { c.make() } -> std::same_as<Solver>;
  }
  Solver(const Config& config) : Solver(config.make()) {}

  const Method& method() const { return *method_; }
  const std::shared_ptr<const Method>& method_ptr() const { return method_; }
  const StepControl& control() const { return control_; }
  StepControl& control() { return control_; }
  std::string name() const { return method_->name(); }

 private:
  std::shared_ptr<const Method> method_;
  StepControl control_;
};

}  // namespace ctdl::ode
