#include "rnode.h"

#include "ctdl/autograd/functional.h"
#include "ctdl/autograd/grad_mode.h"

namespace ctdl::examples::neural_ode {

Dynamics::Dynamics(int64_t dim, int64_t hidden, bool cube)
    : nn::Module("Dynamics"),
      fc1(register_module("fc1", nn::Linear(dim, hidden, {.activation = Activation::Tanh}))),
      fc2(register_module("fc2", nn::Linear(hidden, hidden, {.activation = Activation::Tanh}))),
      fc3(register_module("fc3", nn::Linear(hidden, dim))),
      cube(cube) {}

Tensor Dynamics::operator()(const Tensor& z) const {
  return fc3(fc2(fc1(cube ? z * z * z : z)));
}

ode::Field regularized_field(const Dynamics& f, const Tensor& eps, const Tensor& origin) {
  // f is a handle: the copy captured here trains the same parameters.
  return [f, eps, origin](double, const ode::State& s) -> ode::State {
    const bool record = autograd::grad_enabled();
    // The vjp needs z in the graph. A z that does not require grad (the data at t0) would
    // become a fresh leaf that no gradient scheme knows; z + origin is a path to a tensor
    // listed in the solve's params instead (origin is zero: the value does not change).
    Tensor z = record && !s[0].requires_grad() && origin.defined() ? s[0] + origin : s[0];
    auto [out, vjps] = autograd::vjp([&f](const TensorList& v) { return TensorList{f(v[0])}; },
                                     {z}, {eps}, /*create_graph=*/record);
    return {out[0], square(out[0]).sum({-1}), square(vjps[0]).sum({-1})};
  };
}

RegularizedTrajectory solve_regularized(const Dynamics& f, const Tensor& z0, const Tensor& eps,
                                        const ode::Times& times, const ode::Solver& solver,
                                        const ode::Grad& grad,
                                        std::shared_ptr<ode::Stats> stats) {
  // E and J are states like z: the adaptive solver controls their error too (as in the
  // paper's code), so a training solve may take a few more steps than the plain solve of the
  // same dynamics. The NFE the example reports are those of the plain solve.
  const int64_t B = z0.size(0);
  Tensor zero = zeros({B}, {.dtype = z0.dtype()});
  Tensor origin = zeros({z0.size(-1)}, {.dtype = z0.dtype(), .requires_grad = true});
  TensorList params = {origin};
  for (const Tensor& p : f.parameters())
    if (p.requires_grad()) params.push_back(p);
  TensorList out = ode::odeint(regularized_field(f, eps, origin), {z0, zero, zero.clone()}, times,
                               {.solver = solver, .grad = grad, .params = params, .stats = stats});
  return {out[0], out[1], out[2]};
}

Classifier::Classifier(ClassifierOptions o)
    : nn::Module("Classifier"),
      augment(o.augment),
      block(register_module("block",
                            nn::ODEBlock(Dynamics(2 + o.augment, o.hidden),
                                         {.solver = o.solver, .grad = o.grad}))),
      head(register_module("head", nn::Linear(2 + o.augment, o.classes))) {}

Tensor Classifier::lift(const Tensor& x) const {
  if (augment == 0) return x;
  return cat({x, zeros({x.size(0), augment}, {.dtype = x.dtype()})}, -1);
}

RegularizedOutput Classifier::regularized(const Tensor& x, const Tensor& eps,
                                          std::shared_ptr<ode::Stats> stats) const {
  const nn::ODEBlockOptions& o = block.options();
  RegularizedTrajectory r =
      solve_regularized(block.f, lift(x), eps, {o.t0, o.t1}, o.solver, o.grad, std::move(stats));
  return {head(r.zs.select(0, 1)), r.kinetic.select(0, 1), r.jacobian.select(0, 1)};
}

}  // namespace ctdl::examples::neural_ode
