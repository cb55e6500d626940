#include "ctdl/ode/schemes/reversible_adjoint.h"

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/ode/schemes/discrete.h"

namespace ctdl::ode {
namespace {

class ReversiblePass final : public Adjoint {
 public:
  std::vector<State> forward(const Problem& p) override {
    CTDL_CHECK(p.solver.method().reversible(),
               "reversible_adjoint: needs a reversible solver "
               "(reversible_heun, asynchronous_leapfrog), got ",
               p.solver.name());
    tr_ = p.integrate();
    tr_.final_state = checkpoint_of(tr_.final_state);
    return std::move(tr_.outputs);
  }

  Gradients backward(const Problem& p, const std::vector<State>& grad_outputs) override {
    DiscreteBackward back(p, tr_, grad_outputs);
    StateAdjoint a = back.final_adjoint(tr_.final_state);
    SolverState state = tr_.final_state;
    for (size_t n = tr_.steps.size(); n-- > 0;) {
      {
        autograd::NoGradGuard no_grad;
        state = checkpoint_of(
            p.solver.method().inverse_step(p.f, tr_.steps[n].t, tr_.steps[n].h, state));
      }
      a = back.segment(n, n + 1, state, a);
    }
    return back.finish(a);
  }

 private:
  Trajectory tr_;
};

}  // namespace

TensorList ReversibleAdjoint::solve(const Problem& p) const {
  return solve_with_adjoint(p, std::make_shared<ReversiblePass>(), "reversible_adjoint");
}

}  // namespace ctdl::ode
