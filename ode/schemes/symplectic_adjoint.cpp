#include "ctdl/ode/schemes/symplectic_adjoint.h"

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/ode/schemes/discrete.h"
#include "ctdl/ode/solvers/explicit_rk.h"

namespace ctdl::ode {
namespace {

class SymplecticPass final : public Adjoint {
 public:
  std::vector<State> forward(const Problem& p) override {
    rk_ = dynamic_cast<const ExplicitRKMethod*>(&p.solver.method());
    CTDL_CHECK(rk_ != nullptr,
               "symplectic_adjoint: needs an explicit Runge–Kutta solver (euler, rk4, "
               "dopri5, ...), got ",
               p.solver.name());
    tr_ = p.integrate([&](size_t, const SolverState& before, const StepOutput&) {
      checkpoints_.push_back(detach(before.z));
    });
    return std::move(tr_.outputs);
  }

  Gradients backward(const Problem& p, const std::vector<State>& grad_outputs) override {
    DiscreteBackward back(p, tr_, grad_outputs);
    const ButcherTableau& T = rk_->tableau();
    const size_t s = T.stages();
    State lambda = back.final_adjoint({detach(tr_.final_state.z), {}, {}}).z;
    for (size_t n = tr_.steps.size(); n-- > 0;) {
      const double t = tr_.steps[n].t, h = tr_.steps[n].h;
      // The stages again, values only.
      std::vector<State> Z, k;
      {
        autograd::NoGradGuard no_grad;
        for (size_t i = 0; i < s; ++i) {
          Z.push_back(i == 0 ? checkpoints_[n] : combine(checkpoints_[n], h, T.a[i], k));
          k.push_back(p.f(t + T.c[i] * h, Z.back()));
        }
      }
      // Interpolated outputs inside this step: z + h Σ w_i(θ) k_i.
      std::vector<std::vector<double>> weights;
      std::vector<const State*> interior_grads;
      for (size_t kk : back.interior_outputs(n)) {
        weights.push_back(rk_->dense_weights(back.points()[kk - 1].theta));
        interior_grads.push_back(&grad_outputs[kk]);
      }
      std::vector<State> mu(s);
      State next = lambda;
      for (size_t i = s; i-- > 0;) {
        std::vector<double> coefficients{T.b[i]};
        std::vector<State> terms{lambda};
        for (size_t j = i + 1; j < s; ++j)
          if (T.a[j][i] != 0.0 && !mu[j].empty())
            coefficients.push_back(T.a[j][i]), terms.push_back(mu[j]);
        for (size_t o = 0; o < weights.size(); ++o)
          if (weights[o][i] != 0.0)
            coefficients.push_back(weights[o][i]), terms.push_back(*interior_grads[o]);
        bool any = false;
        for (double c : coefficients) any = any || c != 0.0;
        if (!any) continue;
        State K = combine(zeros_like(lambda), h, coefficients, terms);
        FieldVjp v = field_vjp(p, t + T.c[i] * h, Z[i], K);
        mu[i] = v.z;
        back.add_param_grads(v.params);
        next = add(next, mu[i]);
      }
      for (const State* g : interior_grads) next = add(next, *g);
      if (p.stats) ++p.stats->steps;
      if (n > 0) back.add_end_outputs(n - 1, next);
      lambda = std::move(next);
    }
    return back.finish({lambda, {}});
  }

 private:
  const ExplicitRKMethod* rk_ = nullptr;
  Trajectory tr_;
  std::vector<State> checkpoints_;
};

}  // namespace

TensorList SymplecticAdjoint::solve(const Problem& p) const {
  return solve_with_adjoint(p, std::make_shared<SymplecticPass>(), "symplectic_adjoint");
}

}  // namespace ctdl::ode
