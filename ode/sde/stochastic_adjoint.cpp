#include "ctdl/ode/sde/stochastic_adjoint.h"

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/grad_mode.h"
#include "ctdl/ode/sde/solvers.h"

namespace ctdl::ode::sde {
namespace {

// J·u for u of z's shape, by the double-vjp trick: w ↦ Jᵀw recorded, then its vjp with u.
Tensor jacobian_product(const Tensor& y, const Tensor& z, const Tensor& u) {
  Tensor w = zeros_like(y).requires_grad_();
  Tensor jt = autograd::grad({y}, {z}, {w}, {.create_graph = true, .allow_unused = true})[0];
  if (!jt.defined() || !jt.requires_grad()) return zeros_like(y);
  Tensor ju = autograd::grad({jt}, {w}, {u}, {.create_graph = true, .allow_unused = true})[0];
  return ju.defined() ? ju : zeros_like(y);
}

class StochasticAdjointPass final : public Adjoint {
 public:
  explicit StochasticAdjointPass(StochasticAdjoint options) : o_(std::move(options)) {}

  std::vector<State> forward(const Problem& p) override {
    outputs_ = p.integrate().outputs;
    for (State& s : outputs_) s = detach(s);
    return outputs_;
  }

  Gradients backward(const Problem& p, const std::vector<State>& grad_outputs) override {
    const auto* method = dynamic_cast<const SdeMethod*>(&p.solver.method());
    CTDL_CHECK(method != nullptr, "stochastic_adjoint: the solver ", p.solver.name(),
               " is not an SDE solver; the stochastic adjoint is for ode::sdeint");
    const Noise noise = method->noise();
    const SdeType type = method->sde_type();
    const size_t P = p.params.size();
    Solver backward = o_.solver.value_or(method->product_only() ? backward_solver(method->name())
                                                                : Solver(Midpoint{}));
    // The augmented SDE is Stratonovich whatever the forward one was. Its field reads z and
    // a only: dL/dθ is a quadrature, whose stage inputs the solver need not form.
    ode::Solver solver = backward.make({.brownian = method->brownian(),
                                        .noise = Noise::General,
                                        .type = SdeType::Stratonovich,
                                        .dt = o_.dt > 0 ? o_.dt : p.solver.control().step_size,
                                        .reads = 2});
    const auto* back_method = dynamic_cast<const SdeMethod*>(&solver.method());
    CTDL_CHECK(back_method && back_method->product_only(),
               "stochastic_adjoint: the backward solver ", solver.name(),
               " needs the diffusion itself, which the augmented SDE does not have; use "
               "euler_heun, heun or midpoint");

    // y = [z, a, dL/dθ..., dW] -> [drifts..., noise products...]
    Field augmented = [&p, noise, type, P](double t, const State& y) -> State {
      CTDL_CHECK(y.size() == 3 + P,
                 "stochastic_adjoint: the augmented SDE answers only F(t, {y, dW})");
      const Tensor &a = y[1], &w = y.back();
      autograd::EnableGradGuard grad_on;
      autograd::KeepIntermediatesGuard keep;  // the vector-Jacobian products follow at once
      Tensor z = y[0].detach().requires_grad_();
      State fg = p.f(t, {z});
      Tensor f = fg[0], g = fg[1];
      if (type == SdeType::Ito && noise != Noise::Additive) f = f - ito_correction(noise, g, z);
      TensorList inputs = {z};
      inputs.insert(inputs.end(), p.params.begin(), p.params.end());
      // The products with -a are the right-hand sides as they are (linear in the seed; the
      // negation is exact): one negation instead of one per parameter and product.
      const Tensor minus_a = -a;
      auto vjp = [&](const Tensor& out, const Tensor& cotangent, bool retain) {
        TensorList r(inputs.size());
        if (out.requires_grad())
          r = autograd::grad({out}, inputs, {cotangent},
                             {.retain_graph = retain, .allow_unused = true});
        for (size_t i = 0; i < r.size(); ++i)
          if (!r[i].defined()) r[i] = zeros_like(inputs[i]);
        return r;
      };
      TensorList df = vjp(f, minus_a, true);
      TensorList dg = vjp(g, noise_cotangent(noise, minus_a, w, g.shape()), false);
      State out = {f.detach()};
      out.insert(out.end(), df.begin(), df.end());
      out.push_back(noise_product(noise, g.detach(), w));
      out.insert(out.end(), dg.begin(), dg.end());
      return out;
    };

    State a = {defined_or_zero(grad_outputs.back(), outputs_.back())[0]};
    TensorList param_grads;
    for (const Tensor& w : p.params) param_grads.push_back(zeros_like(w));
    for (size_t k = p.times.size() - 1; k > 0; --k) {
      State y = {outputs_[k][0], a[0]};
      y.insert(y.end(), param_grads.begin(), param_grads.end());
      Trajectory back =
          integrate(solver, augmented, y, {p.times[k], p.times[k - 1]}, p.stats.get());
      const State& end = back.outputs.back();
      a = {end[1]};
      param_grads = TensorList(end.begin() + 2, end.end());
      a = add(a, defined_or_zero(grad_outputs[k - 1], outputs_[k - 1]));
    }
    return {a, param_grads};
  }

 private:
  static Solver backward_solver(const std::string& forward) {
    if (forward == "euler_heun") return EulerHeun{};
    if (forward == "heun") return Heun{};
    return Midpoint{};
  }
  static State defined_or_zero(const State& g, const State& like) {
    State out;
    for (size_t i = 0; i < like.size(); ++i)
      out.push_back(i < g.size() && g[i].defined() ? g[i] : zeros_like(like[i]));
    return out;
  }

  StochasticAdjoint o_;
  std::vector<State> outputs_;
};

}  // namespace

Tensor ito_correction(Noise noise, const Tensor& g, const Tensor& z) {
  switch (noise) {
    case Noise::Additive:
      return zeros_like(z);
    case Noise::Diagonal: {
      Tensor gdg = autograd::grad({g}, {z}, {g}, {.create_graph = true, .allow_unused = true})[0];
      return gdg.defined() ? gdg * 0.5 : zeros_like(z);
    }
    case Noise::Scalar: {
      Tensor g1 = g.dim() == z.dim() + 1 ? g.squeeze(-1) : g;
      return jacobian_product(g1, z, g1) * 0.5;
    }
    case Noise::General: {
      Tensor sum = zeros_like(z);
      for (int64_t j = 0; j < g.size(-1); ++j) {
        Tensor gj = g.select(-1, j);
        sum = sum + jacobian_product(gj, z, gj);
      }
      return sum * 0.5;
    }
  }
  return zeros_like(z);
}

TensorList StochasticAdjoint::solve(const Problem& p) const {
  return solve_with_adjoint(p, std::make_shared<StochasticAdjointPass>(*this),
                            "stochastic_adjoint");
}

}  // namespace ctdl::ode::sde
