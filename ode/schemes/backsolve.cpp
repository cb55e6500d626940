#include "ctdl/ode/schemes/backsolve.h"

#include "ctdl/ode/solvers/explicit_rk.h"

namespace ctdl::ode {
namespace {

class BacksolvePass final : public Adjoint {
 public:
  explicit BacksolvePass(BacksolveAdjoint options) : o_(std::move(options)) {}

  std::vector<State> forward(const Problem& p) override {
    outputs_ = p.integrate().outputs;
    for (State& s : outputs_) s = detach(s);
    return outputs_;
  }

  Gradients backward(const Problem& p, const std::vector<State>& grad_outputs) override {
    Solver solver = o_.solver.value_or(p.solver);
    if (o_.rtol > 0) solver.control().rtol = o_.rtol;
    if (o_.atol > 0) solver.control().atol = o_.atol;
    const size_t m = p.z0.size(), P = p.params.size();
    if (o_.seminorm) solver.control().error_components = 2 * m;
    // dL/dθ is a quadrature: the augmented field reads z and a only, so an RK method need
    // not form the stage inputs of the parameter gradients (12 of an RK4 step's 24
    // combinations for a two-layer perceptron's four parameters).
    if (auto rk = std::dynamic_pointer_cast<const ExplicitRKMethod>(solver.method_ptr()))
      solver = Solver(rk->reading_only(2 * m), solver.control());
    // y = [z..., a..., dL/dθ...]
    Field augmented = [&p, m](double t, const State& y) {
      State z(y.begin(), y.begin() + m), minus_a;
      for (size_t i = m; i < 2 * m; ++i) minus_a.push_back(-y[i]);
      // da/dt = -aᵀ∂f/∂z and dθ/dt = -aᵀ∂f/∂θ are the products with -a (linear in the
      // seed, and negation is exact: the same bits), one negation rather than one per output.
      FieldVjp v = field_vjp(p, t, z, minus_a);
      State out = v.f;
      out.insert(out.end(), v.z.begin(), v.z.end());
      out.insert(out.end(), v.params.begin(), v.params.end());
      return out;
    };
    State a = grad_outputs.back();
    TensorList param_grads;
    for (const Tensor& w : p.params) param_grads.push_back(ctdl::zeros_like(w));
    for (size_t k = p.times.size() - 1; k > 0; --k) {
      State y = outputs_[k];
      y.insert(y.end(), a.begin(), a.end());
      y.insert(y.end(), param_grads.begin(), param_grads.end());
      Trajectory back =
          integrate(solver, augmented, y, {p.times[k], p.times[k - 1]}, p.stats.get());
      const State& end = back.outputs.back();
      a = State(end.begin() + m, end.begin() + 2 * m);
      param_grads = TensorList(end.begin() + 2 * m, end.begin() + 2 * m + P);
      // z(t_{k-1}) is taken from the forward pass rather than from the backward solve.
      a = add(a, grad_outputs[k - 1]);
    }
    return {a, param_grads};
  }

 private:
  BacksolveAdjoint o_;
  std::vector<State> outputs_;
};

}  // namespace

TensorList BacksolveAdjoint::solve(const Problem& p) const {
  return solve_with_adjoint(p, std::make_shared<BacksolvePass>(*this), "backsolve_adjoint");
}

}  // namespace ctdl::ode
