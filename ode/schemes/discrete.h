// The step-level discrete adjoint: backpropagate through a few steps of a recorded
// trajectory at a time, recomputing them from a checkpoint. Checkpoint, reversible and
// implicit adjoints are built from it; so can yours.
//
//   ode::Trajectory tr = p.integrate();                 // forward, grad mode off
//   ode::DiscreteBackward back(p, tr, grad_outputs);
//   ode::StateAdjoint a = back.final_adjoint(tr.final_state);
//   for (size_t n = tr.steps.size(); n-- > 0;)
//     a = back.segment(n, n + 1, state_before_step[n], a);  // your checkpoints
//   ode::Gradients g = back.finish(a);                   // dL/dz0, dL/dparams
//
// A segment is replayed from leaves made of the checkpoint (the method's cache dropped, so
// first-same-as-last derivatives are recomputed on the graph), recorded, and differentiated
// once: its graph lives only during that call. Gradients of requested times inside the
// segment (at step ends or interpolated) are injected where those outputs are computed, so
// the result is the gradient of exactly the forward's discretization.
#pragma once

#include "ctdl/ode/scheme.h"

namespace ctdl::ode {

// dL/d(state): the parts that match SolverState's z and carry.
struct StateAdjoint {
  State z;
  State carry;
};

class DiscreteBackward {
 public:
  // `steps` and `points` as recorded by integrate; grad_outputs[k] = dL/dz(times[k]).
  DiscreteBackward(const Problem& p, const Trajectory& trajectory,
                   const std::vector<State>& grad_outputs);

  // The adjoint of the state after the last step: the gradient of the outputs there.
  StateAdjoint final_adjoint(const SolverState& final_state) const;
  // Backpropagates through steps [first, last) replayed from `before` (the state before step
  // `first`), given the adjoint of the state after step last - 1. Returns the adjoint of
  // `before` (including the gradient of an output located exactly there).
  StateAdjoint segment(size_t first, size_t last, const SolverState& before,
                       const StateAdjoint& after);
  // Through the method's init (e.g. v0 = f(z0)) and the output at times[0]: dL/dz0 and the
  // accumulated dL/dparams.
  Gradients finish(const StateAdjoint& initial);

  // Adds to `param_grads` (for schemes that take vjps of f themselves).
  void add_param_grads(const TensorList& g);
  // Gradients of the outputs located exactly at the end of step n (theta = 1).
  void add_end_outputs(size_t n, State& adjoint_z) const;
  // Indices k of the outputs interpolated inside step n (theta < 1).
  const std::vector<size_t>& interior_outputs(size_t n) const;
  const std::vector<StepRecord>& steps() const { return steps_; }
  const std::vector<OutputPoint>& points() const { return points_; }
  const std::vector<State>& grad_outputs() const { return grad_outputs_; }

 private:
  const Problem& p_;
  std::vector<StepRecord> steps_;
  std::vector<OutputPoint> points_;
  std::vector<State> grad_outputs_;
  std::vector<std::vector<size_t>> interior_, ends_;
  TensorList param_grads_;
};

// A state without its cache, detached: what a checkpoint keeps.
SolverState checkpoint_of(const SolverState& s);

}  // namespace ctdl::ode
