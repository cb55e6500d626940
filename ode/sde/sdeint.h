// sdeint: solve an SDE (sde.h) and return its state at the requested times, differentiable by
// the gradient scheme of your choice.
//
//   Tensor mu = tensor({0.5}, {.dtype = DType::Float64, .requires_grad = true});
//   Tensor sigma = tensor({0.3}, {.dtype = DType::Float64, .requires_grad = true});
//   ode::SDE gbm{.drift = [mu](double, const Tensor& z) { return z * mu; },
//                .diffusion = [sigma](double, const Tensor& z) { return z * sigma; }};
//   Tensor z0 = ones({256, 1}, {.dtype = DType::Float64});
//   Tensor zs = ode::sdeint(gbm, z0, {0.0, 0.5, 1.0},
//                           {.solver = ode::sde::Milstein{}, .dt = 1e-2,
//                            .grad = ode::sde::StochasticAdjoint{}, .params = {mu, sigma},
//                            .seed = 7});                        // [3, 256, 1]
//   zs.select(0, 2).mean().backward();                           // mu.grad(), sigma.grad()
//
// Gradient schemes: ode::Backprop (the discretization's gradient, memory linear in the steps),
// ode::sde::StochasticAdjoint (the backward adjoint SDE; flat memory), ode::ReversibleAdjoint
// with ode::sde::ReversibleHeun (the discretization's gradient to rounding, flat memory), and
// ode::CheckpointAdjoint; the adjoints differentiate with respect to options.params only.
//
// The Brownian motion: options.brownian if given (share one between solves to compare them
// on the same path), else a BrownianInterval over [times.front(), times.back()] seeded by
// options.seed, or, without a seed, by a number drawn from default_generator() (so
// manual_seed and checkpoints make runs reproducible). It is shaped [batch, m] and takes z0's
// dtype; it tracks the Lévy area when the solver needs it.
#pragma once

#include <optional>

#include "ctdl/ode/odeint.h"
#include "ctdl/ode/sde/solvers.h"
#include "ctdl/ode/sde/stochastic_adjoint.h"

namespace ctdl::ode::sde {

struct Options {
  sde::Solver solver = EulerMaruyama{};
  double dt = 1e-2;
  Grad grad = Backprop{};
  TensorList params;
  std::shared_ptr<BrownianMotion> brownian;
  std::optional<uint64_t> seed;
  std::shared_ptr<Stats> stats;
};

// z0: [batch, d]. Returns [len(times), batch, d].
Tensor sdeint(const SDE& sde, const Tensor& z0, const Times& times, const Options& options = {});

// The Brownian motion sdeint would make for this problem (what it uses when options.brownian
// is null), e.g. to read W back afterwards with the same seed.
std::shared_ptr<BrownianMotion> default_brownian(const SDE& sde, const Tensor& z0,
                                                 const std::vector<double>& times,
                                                 const Options& options);

}  // namespace ctdl::ode::sde

namespace ctdl::ode {
using sde::sdeint;
using SdeOptions = sde::Options;
}  // namespace ctdl::ode
