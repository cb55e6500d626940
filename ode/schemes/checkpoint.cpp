#include "ctdl/ode/schemes/checkpoint.h"

#include <cmath>
#include <map>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/ode/schemes/discrete.h"

namespace ctdl::ode {
namespace {

// C(s + r, s): how many steps s checkpoints reverse with r recomputations (saturating).
double binomial_capacity(int64_t s, int64_t r) {
  double c = 1;
  for (int64_t i = 1; i <= s; ++i) c = c * static_cast<double>(r + i) / static_cast<double>(i);
  return c;
}

class CheckpointPass final : public Adjoint {
 public:
  explicit CheckpointPass(CheckpointAdjoint options) : o_(options) {}

  std::vector<State> forward(const Problem& p) override {
    CTDL_CHECK(o_.checkpoints >= 0, "checkpoint_adjoint: checkpoints must be >= 0, got ",
               o_.checkpoints);
    const StepControl& c = p.solver.control();
    int64_t every = 1;  // keep the state before step n when n % every == 0
    if (o_.checkpoints > 0) {
      if (o_.placement == CheckpointPlacement::Binomial || c.adaptive())
        every = 0;  // only the first
      else
        every = segment_length(fixed_step_count(p.times, c.step_size));
    }
    tr_ = p.integrate([&](size_t n, const SolverState& before, const StepOutput&) {
      if (n == 0 || (every > 0 && static_cast<int64_t>(n) % every == 0))
        snapshots_[n] = checkpoint_of(before);
    });
    tr_.final_state = checkpoint_of(tr_.final_state);
    return std::move(tr_.outputs);  // returned to odeint; not kept twice
  }

  Gradients backward(const Problem& p, const std::vector<State>& grad_outputs) override {
    DiscreteBackward back(p, tr_, grad_outputs);
    const size_t N = tr_.steps.size();
    StateAdjoint a = back.final_adjoint(tr_.final_state);
    if (o_.checkpoints > 0 && o_.placement == CheckpointPlacement::Binomial) {
      a = revolve(p, back, 0, N, snapshots_.at(0), o_.checkpoints, a);
    } else {
      size_t S =
          o_.checkpoints == 0 ? 1 : static_cast<size_t>(segment_length(static_cast<int64_t>(N)));
      fill_snapshots(p, S);
      for (size_t start = (N - 1) / S * S;; start -= S) {
        a = back.segment(start, std::min(start + S, N), snapshots_.at(start), a);
        if (start == 0) break;
      }
    }
    return back.finish(a);
  }

 private:
  int64_t segment_length(int64_t steps) const {
    return std::max<int64_t>(1, (steps + o_.checkpoints - 1) / o_.checkpoints);
  }

  // Adaptive solves cannot know N during the forward pass: place the snapshots now.
  void fill_snapshots(const Problem& p, size_t S) {
    autograd::NoGradGuard no_grad;
    const size_t N = tr_.steps.size();
    SolverState s = snapshots_.at(0);
    for (size_t n = 0; n < N; n += S) {
      if (!snapshots_.count(n))
        snapshots_[n] = s;
      else
        s = snapshots_[n];
      if (n + S < N && !snapshots_.count(n + S))
        s = checkpoint_of(advance(p.solver.method(), p.f, tr_.steps, n, n + S, s, p.stats.get()));
    }
  }

  // Griewank's binomial checkpointing: reverse steps [a, b) holding `slots` more states.
  StateAdjoint revolve(const Problem& p, DiscreteBackward& back, size_t a, size_t b,
                       const SolverState& state_a, int64_t slots, StateAdjoint adjoint) {
    const size_t n = b - a;
    if (n == 1) return back.segment(a, b, state_a, adjoint);
    autograd::NoGradGuard no_grad;
    if (slots == 0) {  // no room left: recompute from a for every step
      for (size_t i = b; i-- > a;) {
        SolverState s =
            checkpoint_of(advance(p.solver.method(), p.f, tr_.steps, a, i, state_a, p.stats.get()));
        adjoint = back.segment(i, i + 1, s, adjoint);
      }
      return adjoint;
    }
    int64_t r = 0;
    while (binomial_capacity(slots, r) < static_cast<double>(n)) ++r;
    double right_capacity = binomial_capacity(slots - 1, r);
    size_t right =
        static_cast<size_t>(std::min<double>(static_cast<double>(n - 1), right_capacity));
    size_t m = b - right;
    {
      SolverState state_m =
          checkpoint_of(advance(p.solver.method(), p.f, tr_.steps, a, m, state_a, p.stats.get()));
      adjoint = revolve(p, back, m, b, state_m, slots - 1, std::move(adjoint));
    }
    return revolve(p, back, a, m, state_a, slots, std::move(adjoint));
  }

  CheckpointAdjoint o_;
  Trajectory tr_;
  std::map<size_t, SolverState> snapshots_;
};

}  // namespace

TensorList CheckpointAdjoint::solve(const Problem& p) const {
  return solve_with_adjoint(p, std::make_shared<CheckpointPass>(*this), "checkpoint_adjoint");
}

}  // namespace ctdl::ode
