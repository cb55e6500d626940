#include "ctdl/ode/schemes/implicit_adjoint.h"

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/grad_mode.h"
#include "ctdl/ode/schemes/discrete.h"
#include "ctdl/ode/solvers/implicit.h"

namespace ctdl::ode {
namespace {

class ImplicitPass final : public Adjoint {
 public:
  explicit ImplicitPass(ImplicitAdjoint options) : o_(options) {}

  std::vector<State> forward(const Problem& p) override {
    method_ = dynamic_cast<const ImplicitMethod*>(&p.solver.method());
    CTDL_CHECK(method_ != nullptr,
               "implicit_adjoint: needs an implicit solver (implicit_euler, "
               "trapezoid, bdf2), got ",
               p.solver.name());
    tr_ = p.integrate([&](size_t, const SolverState& before, const StepOutput&) {
      states_.push_back(checkpoint_of(before));
    });
    states_.push_back(checkpoint_of(tr_.final_state));
    tr_.final_state = states_.back();
    return std::move(tr_.outputs);
  }

  Gradients backward(const Problem& p, const std::vector<State>& grad_outputs) override {
    DiscreteBackward back(p, tr_, grad_outputs);
    StateAdjoint lambda = back.final_adjoint(tr_.final_state);
    for (size_t n = tr_.steps.size(); n-- > 0;) {
      const double t = tr_.steps[n].t, h = tr_.steps[n].h;
      const SolverState& before = states_[n];
      const State& z1 = states_[n + 1].z;
      autograd::EnableGradGuard grad_on;
      SolverState s{leaves(before.z), leaves(before.carry), {}, before.last_step};
      ImplicitMethod::Equation eq = method_->equation(p.f, t, h, s);
      auto F = [&p, t1 = eq.t1](const State& z) { return p.f(t1, z); };
      State w = implicit_adjoint_solve(F, z1, eq.alpha, lambda.z, o_.krylov,
                                       str("implicit_adjoint: at t=", t, " with step size h=", h));
      // y = c + α f(t1, z1): its graph reaches the state before (through c) and the params.
      State y = axpy(eq.c, eq.alpha, F(z1));
      TensorList roots, seeds, inputs = s.z;
      inputs.insert(inputs.end(), s.carry.begin(), s.carry.end());
      inputs.insert(inputs.end(), p.params.begin(), p.params.end());
      for (size_t i = 0; i < y.size(); ++i)
        if (y[i].requires_grad()) roots.push_back(y[i]), seeds.push_back(w[i]);
      for (size_t i = 0; i < eq.next_carry.size() && i < lambda.carry.size(); ++i)
        if (eq.next_carry[i].requires_grad())
          roots.push_back(eq.next_carry[i]), seeds.push_back(lambda.carry[i]);
      TensorList g(inputs.size());
      if (!roots.empty()) g = autograd::grad(roots, inputs, seeds, {.allow_unused = true});
      const size_t nz = s.z.size(), nc = s.carry.size();
      StateAdjoint next;
      for (size_t i = 0; i < nz; ++i)
        next.z.push_back(g[i].defined() ? g[i] : ctdl::zeros_like(s.z[i]));
      for (size_t i = 0; i < nc; ++i)
        next.carry.push_back(g[nz + i].defined() ? g[nz + i] : ctdl::zeros_like(s.carry[i]));
      back.add_param_grads(TensorList(g.begin() + nz + nc, g.end()));
      if (n > 0) back.add_end_outputs(n - 1, next.z);
      if (p.stats) ++p.stats->steps;
      lambda = std::move(next);
    }
    return back.finish(lambda);
  }

 private:
  ImplicitAdjoint o_;
  const ImplicitMethod* method_ = nullptr;
  Trajectory tr_;
  std::vector<SolverState> states_;
};

}  // namespace

TensorList ImplicitAdjoint::solve(const Problem& p) const {
  return solve_with_adjoint(p, std::make_shared<ImplicitPass>(*this), "implicit_adjoint");
}

}  // namespace ctdl::ode
