// The integration loop shared by odeint and every gradient scheme.
//
//   ode::Trajectory tr = ode::integrate(ode::RK4{.step_size = 0.1}, f, {z0}, {0.0, 1.0});
//   tr.outputs[1];     // the state at t = 1
//   tr.steps.size();   // 10 accepted steps, each a (t, h) pair
//
// It runs in the current grad mode: with grad on it records the graph (that is backprop
// through the solver); with grad off it only computes. A StepHook sees every accepted
// step, which is how adjoint schemes keep checkpoints. Failures are ctdl::Errors naming the
// method, t, the step size and the cause (step size underflow, step budget, NaN/Inf).
#pragma once

#include <functional>
#include <vector>

#include "ctdl/ode/solver.h"

namespace ctdl::ode {

// Counters of one solve. odeint fills nfe_forward and steps_forward when the forward pass
// returns; whatever the backward pass adds shows up in the *_backward() differences.
struct Stats {
  int64_t nfe = 0;    // evaluations of f (a vjp of f counts as one)
  int64_t steps = 0;  // accepted steps, forward and backward
  int64_t rejected_steps = 0;
  int64_t nfe_forward = 0, steps_forward = 0;
  int64_t nfe_backward() const { return nfe - nfe_forward; }
  int64_t steps_backward() const { return steps - steps_forward; }
};

struct StepRecord {
  double t = 0, h = 0;
};

// Where a requested time sits: in step `step` at t + theta·h (theta = 1: the step's end).
struct OutputPoint {
  size_t step = 0;
  double theta = 1.0;
};

struct Trajectory {
  std::vector<State> outputs;       // z at each requested time; outputs[0] is z0
  std::vector<StepRecord> steps;    // accepted steps, in order
  std::vector<OutputPoint> points;  // points[k - 1] locates requested time k
  SolverState final_state;
};

using StepHook = std::function<void(size_t n, const SolverState& before, const StepOutput& step)>;

// Checks that times are finite and strictly monotone (increasing or decreasing).
void check_times(const std::vector<double>& times, const char* op);

Trajectory integrate(const Solver& solver, const Field& f, const State& z0,
                     const std::vector<double>& times, Stats* stats = nullptr,
                     const StepHook& hook = {});

// Takes steps [first, last) of a recorded trajectory again from `state`. No step-size
// control: the recorded steps are replayed exactly, so the result is the same discretization.
SolverState advance(const Method& method, const Field& f, const std::vector<StepRecord>& steps,
                    size_t first, size_t last, SolverState state, Stats* stats = nullptr);

}  // namespace ctdl::ode

namespace ctdl::ode {

// The number of fixed steps integrate takes over `times` with this step size.
int64_t fixed_step_count(const std::vector<double>& times, double step_size);

}  // namespace ctdl::ode
