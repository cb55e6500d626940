#include "ctdl/ode/schemes/discrete.h"

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/grad_mode.h"

namespace ctdl::ode {
namespace {

void accumulate(State& into, const State& g) {
  if (into.empty()) {
    into = g;
    return;
  }
  for (size_t i = 0; i < into.size(); ++i) {
    if (!g[i].defined()) continue;
    into[i] = into[i].defined() ? into[i] + g[i] : g[i];
  }
}

}  // namespace

SolverState checkpoint_of(const SolverState& s) {
  return {detach(s.z), detach(s.carry), {}, s.last_step};
}

DiscreteBackward::DiscreteBackward(const Problem& p, const Trajectory& trajectory,
                                   const std::vector<State>& grad_outputs)
    : p_(p),
      steps_(trajectory.steps),
      points_(trajectory.points),
      grad_outputs_(grad_outputs),
      interior_(trajectory.steps.size()),
      ends_(trajectory.steps.size()) {
  for (size_t k = 1; k < p.times.size(); ++k) {
    const OutputPoint& pt = points_[k - 1];
    (pt.theta == 1.0 ? ends_ : interior_)[pt.step].push_back(k);
  }
  for (const Tensor& w : p.params) param_grads_.push_back(ctdl::zeros_like(w));
}

void DiscreteBackward::add_param_grads(const TensorList& g) {
  for (size_t i = 0; i < param_grads_.size() && i < g.size(); ++i)
    if (g[i].defined()) param_grads_[i] = param_grads_[i] + g[i];
}

void DiscreteBackward::add_end_outputs(size_t n, State& adjoint_z) const {
  for (size_t k : ends_[n]) accumulate(adjoint_z, grad_outputs_[k]);
}

const std::vector<size_t>& DiscreteBackward::interior_outputs(size_t n) const {
  return interior_[n];
}

StateAdjoint DiscreteBackward::final_adjoint(const SolverState& final_state) const {
  StateAdjoint a{zeros_like(final_state.z), zeros_like(final_state.carry)};
  if (!steps_.empty()) add_end_outputs(steps_.size() - 1, a.z);
  return a;
}

StateAdjoint DiscreteBackward::segment(size_t first, size_t last, const SolverState& before,
                                       const StateAdjoint& after) {
  const Method& m = p_.solver.method();
  autograd::EnableGradGuard grad_on;
  SolverState s{leaves(before.z), leaves(before.carry), {}, before.last_step};
  const size_t nz = s.z.size(), nc = s.carry.size();
  TensorList inputs = s.z;
  inputs.insert(inputs.end(), s.carry.begin(), s.carry.end());
  inputs.insert(inputs.end(), p_.params.begin(), p_.params.end());
  TensorList roots, seeds;
  auto add_roots = [&](const State& values, const State& grads) {
    for (size_t i = 0; i < values.size() && i < grads.size(); ++i)
      if (values[i].requires_grad() && grads[i].defined())
        roots.push_back(values[i]), seeds.push_back(grads[i]);
  };
  for (size_t n = first; n < last; ++n) {
    StepOutput out = m.step(p_.f, steps_[n].t, steps_[n].h, s);
    for (size_t k : interior_[n])
      add_roots(m.interpolate(s, out, steps_[n].h, points_[k - 1].theta), grad_outputs_[k]);
    if (n + 1 < last)
      for (size_t k : ends_[n]) add_roots(out.next.z, grad_outputs_[k]);
    s = std::move(out.next);
  }
  if (p_.stats) p_.stats->steps += static_cast<int64_t>(last - first);
  add_roots(s.z, after.z);
  add_roots(s.carry, after.carry);
  TensorList g(inputs.size());
  if (!roots.empty()) g = autograd::grad(roots, inputs, seeds, {.allow_unused = true});
  StateAdjoint result;
  for (size_t i = 0; i < nz; ++i)
    result.z.push_back(g[i].defined() ? g[i] : ctdl::zeros_like(before.z[i]));
  for (size_t i = 0; i < nc; ++i)
    result.carry.push_back(g[nz + i].defined() ? g[nz + i] : ctdl::zeros_like(before.carry[i]));
  add_param_grads(TensorList(g.begin() + nz + nc, g.end()));
  if (first > 0) add_end_outputs(first - 1, result.z);
  return result;
}

Gradients DiscreteBackward::finish(const StateAdjoint& initial) {
  State dz0 = initial.z;
  bool carry_matters = false;
  for (const Tensor& c : initial.carry) carry_matters = carry_matters || c.defined();
  if (carry_matters) {
    autograd::EnableGradGuard grad_on;
    State z = leaves(p_.z0);
    SolverState s0 = p_.solver.method().init(p_.f, p_.times[0], z);
    TensorList roots, seeds, inputs = z;
    inputs.insert(inputs.end(), p_.params.begin(), p_.params.end());
    for (size_t i = 0; i < s0.carry.size() && i < initial.carry.size(); ++i)
      if (s0.carry[i].requires_grad())
        roots.push_back(s0.carry[i]), seeds.push_back(initial.carry[i]);
    if (!roots.empty()) {
      TensorList g = autograd::grad(roots, inputs, seeds, {.allow_unused = true});
      accumulate(dz0, State(g.begin(), g.begin() + z.size()));
      add_param_grads(TensorList(g.begin() + z.size(), g.end()));
    }
  }
  accumulate(dz0, grad_outputs_[0]);
  return {dz0, param_grads_};
}

}  // namespace ctdl::ode
