#include "ctdl/ode/solver.h"

namespace ctdl::ode {

SolverState Method::init(const Field&, double, const State& z0) const { return {z0, {}, {}}; }

State Method::interpolate(const SolverState&, const StepOutput&, double, double) const {
  fail(name(),
       ": this method has no dense output; use fixed steps (step_size) so that every "
       "requested time is the end of a step");
}

SolverState Method::inverse_step(const Field&, double, double, const SolverState&) const {
  fail(name(),
       ": the method is not algebraically reversible; reversible_adjoint needs "
       "reversible_heun or asynchronous_leapfrog");
}

Solver::Solver(std::shared_ptr<const Method> method, StepControl control)
    : method_(std::move(method)), control_(control) {
  CTDL_CHECK(method_ != nullptr, "Solver: no method");
  CTDL_CHECK(control_.adaptive() ? method_->error_order() > 0 : true, method_->name(),
             ": the method has no error estimate, so it needs fixed steps: give step_size > 0");
  CTDL_CHECK(control_.rtol >= 0 && control_.atol >= 0 && control_.rtol + control_.atol > 0,
             method_->name(),
             ": rtol and atol must be >= 0 and not both 0, got rtol=", control_.rtol,
             " atol=", control_.atol);
  CTDL_CHECK(control_.max_steps > 0, method_->name(), ": max_steps must be positive, got ",
             control_.max_steps);
}

}  // namespace ctdl::ode
