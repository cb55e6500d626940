// ODEBlock: a layer whose output is the solution of an ODE. Given dynamics f (a module),
// it maps x to z(t1) where dz/dt = f(t, z), z(t0) = x, solved by ode::odeint with the solver
// and gradient scheme of its options (Chen et al. 2018's ODE block).
//
//   struct Dynamics : nn::Module {
//     nn::Linear fc1 = register_module("fc1", nn::Linear(64, 64));
//     nn::Linear fc2 = register_module("fc2", nn::Linear(64, 64));
//     Tensor operator()(double t, const Tensor& z) const { return fc2(tanh(fc1(z))); }
//   };
//   nn::ODEBlock block(Dynamics(), {.solver = ode::Dopri5{.rtol = 1e-5},
//                                   .grad = ode::BacksolveAdjoint{}});
//   nn::Sequential net(nn::Linear(784, 64), block, nn::Linear(64, 10));
//   // parameters: 0.weight, 0.bias, 1.f.fc1.weight, ..., 2.bias
//   Tensor zs = block.trajectory(x, {0.0, 0.5, 1.0});   // [3, ...x's shape]
//
// f is called as f(t, z), or as f(z) when it has no time argument. The block hands its
// parameters (those that require grad) to odeint as Options::params, so every gradient
// scheme, the adjoint ones included, trains them. Like every module it is a handle: copies
// share f and the options, so `block.options().solver = ...` reaches the copy in `net`.
#pragma once

#include <memory>
#include <type_traits>

#include "ctdl/nn/module.h"
#include "ctdl/ode/odeint.h"

namespace ctdl::nn {

struct ODEBlockOptions {
  ode::Solver solver = ode::Dopri5{};
  ode::Grad grad = ode::Backprop{};
  double t0 = 0.0, t1 = 1.0;  // operator() integrates from t0 to t1
  // If set, filled with the counters (evaluations of f, steps) of each call.
  std::shared_ptr<ode::Stats> stats;
};

template <class F>
class ODEBlock : public Module {
  static_assert(std::is_base_of_v<Module, F>,
                "ODEBlock: the dynamics must be a module (its parameters are trained)");
  static_assert(std::is_invocable_r_v<Tensor, F&, double, const Tensor&> ||
                    std::is_invocable_r_v<Tensor, F&, const Tensor&>,
                "ODEBlock: the dynamics must be callable as f(t, z) or f(z)");

 public:
  explicit ODEBlock(F f, ODEBlockOptions options = {})
      : Module("ODEBlock"),
        f(register_module("f", std::move(f))),
        options_(std::make_shared<ODEBlockOptions>(std::move(options))) {}

  // z(t1) from z(t0) = x.
  Tensor operator()(const Tensor& x) const {
    return trajectory(x, {options_->t0, options_->t1}).select(0, 1);
  }
  // The states at `times` (the first is x), stacked along a new first dimension.
  Tensor trajectory(const Tensor& x, const ode::Times& times) const {
    TensorList params;
    for (const Tensor& p : parameters())
      if (p.requires_grad()) params.push_back(p);
    // By value: the adjoint schemes call f in the backward pass, after this returns; a copy
    // of a module is a handle to the same parameters.
    ode::TensorField field = [g = f](double t, const Tensor& z) mutable -> Tensor {
      if constexpr (std::is_invocable_r_v<Tensor, F&, double, const Tensor&>)
        return g(t, z);
      else
        return g(z);
    };
    return ode::odeint(field, x, times,
                       {.solver = options_->solver,
                        .grad = options_->grad,
                        .params = std::move(params),
                        .stats = options_->stats});
  }

  ODEBlockOptions& options() const { return *options_; }

  mutable F f;

 private:
  std::shared_ptr<ODEBlockOptions> options_;
};

}  // namespace ctdl::nn
